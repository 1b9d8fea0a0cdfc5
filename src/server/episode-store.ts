/**
 * The episodes the server knows, and the transitions their events complete.
 *
 * RLlib's external-env semantics: a reward is credited to the last action of its episode and
 * rewards add up until the next action; the next action (or the end) completes the transition.
 * `check*` methods throw the HTTP error a request deserves; `apply` only changes state, so
 * replaying a log goes through exactly the same code as live requests.
 */
import { HttpError } from './errors';
import type { ExperienceEvent, StepEvent } from './experience-events';

/** A completed (observation, action, reward, next value) step of a training-enabled episode. */
export interface Transition {
  /** Log position of the event that completed it: batches are prefixes in this order. */
  seq: number;
  episode: string;
  step: StepEvent;
  reward: number;
  /** Value of the next observation (0 after a terminal state). */
  nextValue: number;
  /** The episode ended with this transition. */
  done: boolean;
  terminated: boolean;
}

interface PendingStep {
  step: StepEvent;
  reward: number;
}

export interface Episode {
  id: string;
  trainingEnabled: boolean;
  explore: boolean;
  ended: boolean;
  steps: number;
  totalReward: number;
  pending: PendingStep | null;
  /** A request for this episode is being handled: requests of one episode must come one at a time. */
  busy: boolean;
}

/** Ended episodes are remembered (for 409 instead of 404) up to this many, oldest forgotten first. */
const ENDED_MEMORY = 100_000;

export class EpisodeStore {
  private readonly open = new Map<string, Episode>();
  private readonly ended = new Map<string, Episode>();

  get openCount(): number {
    return this.open.size;
  }

  /** An open episode; 404 when unknown, 409 when it has ended. */
  get(id: string): Episode {
    const episode = this.open.get(id);
    if (episode) return episode;
    if (this.ended.has(id)) throw new HttpError(409, 'episode_ended', `episode ${id} has ended`, 'episode_id');
    throw new HttpError(404, 'unknown_episode', `episode ${id} does not exist`, 'episode_id');
  }

  /** Marks an episode busy for the duration of one request; 409 if another request holds it. */
  acquire(id: string): Episode {
    const episode = this.get(id);
    if (episode.busy) throw new HttpError(409, 'episode_busy', `episode ${id} already has a request in flight; send its requests one at a time`, 'episode_id');
    episode.busy = true;
    return episode;
  }

  release(episode: Episode): void {
    episode.busy = false;
  }

  checkCanReward(episode: Episode): void {
    if (!episode.pending) {
      throw new HttpError(409, 'no_action_yet', `episode ${episode.id} has no action to credit a reward to; ask for or log an action first`, 'episode_id');
    }
  }

  /** Applies an event; returns the transition it completed, if any. */
  apply(event: ExperienceEvent, seq: number): Transition | null {
    if (event.type === 'start') {
      this.open.set(event.episode, {
        id: event.episode,
        trainingEnabled: event.trainingEnabled,
        explore: event.explore,
        ended: false,
        steps: 0,
        totalReward: 0,
        pending: null,
        busy: false,
      });
      return null;
    }
    const episode = this.open.get(event.episode);
    if (!episode) throw new Error(`event ${seq} (${event.type}) refers to episode ${event.episode}, which is not open`);
    switch (event.type) {
      case 'step': {
        const done = this.complete(episode, seq, event.value, false, false);
        episode.pending = { step: event, reward: 0 };
        episode.steps++;
        return done;
      }
      case 'reward':
        if (!episode.pending) throw new Error(`event ${seq}: reward for episode ${event.episode} before any action`);
        episode.pending.reward += event.reward;
        episode.totalReward += event.reward;
        return null;
      case 'end': {
        const done = this.complete(episode, seq, event.terminated ? 0 : event.bootstrapValue, true, event.terminated);
        episode.pending = null;
        episode.ended = true;
        this.open.delete(episode.id);
        this.ended.set(episode.id, episode);
        if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.keys().next().value!);
        return done;
      }
    }
  }

  private complete(episode: Episode, seq: number, nextValue: number, done: boolean, terminated: boolean): Transition | null {
    const pending = episode.pending;
    if (!pending || !episode.trainingEnabled) return null;
    return { seq, episode: episode.id, step: pending.step, reward: pending.reward, nextValue, done, terminated };
  }
}
