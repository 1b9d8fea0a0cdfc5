/**
 * Live episodes out of a step log: the same `EpisodeRecord` the offline episodes use, so
 * `episodeFigure` draws a live run (configuration over time, used CPU and memory, rewards,
 * actions, refused moves) exactly as it draws a dataset replay, plus each step's timings.
 */
import type { EpisodeRecord } from '../agent/episode';
import type { StepTimings } from '../env/cluster-env';
import { readStepLog, type StepLogRecord } from '../env/step-log';
import type { Observation } from '../space';

export interface LiveEpisode {
  /** Legend label, e.g. "ppo, episode 1" (with the run id when several runs are read). */
  label: string;
  runId: string;
  /** The policy that acted (`ppo`, `static-best`, `threshold`...), "policy" when unrecorded. */
  policy: string;
  /** Episode number within the run, as logged. */
  episode: number;
  /** 0-based number of this episode among the same policy's episodes of the run. */
  index: number;
  /** The run's mode as logged ('test' or 'finetune'). */
  mode: string;
  record: EpisodeRecord;
  /** Timings of each step (record.actions[k] took timings[k]). */
  timings: StepTimings[];
  /** Whether the episode reached its end (terminated or truncated) in the log. */
  complete: boolean;
}

export interface LiveEpisodeOptions {
  /** Which runs of the log to read: a run id, or 'all'. Default: the last run in the log. */
  run?: string | 'all';
}

interface Building {
  runId: string;
  policy: string;
  mode: string;
  episode: number;
  record: EpisodeRecord;
  timings: StepTimings[];
  complete: boolean;
}

/**
 * Groups the `reset` and `step` records of a step log (a file, or records already read) into
 * one episode per (run, episode), in the order they started. A resumed episode carries on in the
 * same record: the resume's re-measurement is not a new start. A reset without any step after it
 * is left out.
 */
export function liveEpisodesFromLog(source: string | StepLogRecord[], options: LiveEpisodeOptions = {}): LiveEpisode[] {
  const records = typeof source === 'string' ? readStepLog(source).records : source;
  const runIds = [...new Set(records.filter((r) => r.type === 'run' || r.type === 'reset' || r.type === 'step').map((r) => r.runId))];
  const wanted = options.run === 'all' ? new Set(runIds) : new Set([options.run ?? runIds[runIds.length - 1]]);
  const episodes = new Map<string, Building>();
  for (const r of records) {
    if (!wanted.has(r.runId) || (r.type !== 'reset' && r.type !== 'step')) continue;
    const episode = r.episode as number;
    const key = `${r.runId}\u0000${episode}`;
    let current = episodes.get(key);
    if (r.type === 'reset') {
      // A resumed episode's reset re-measures the running configuration: keep the original start.
      if (!current) {
        current = { runId: r.runId, policy: policyOf(r), mode: typeof r.mode === 'string' ? r.mode : 'test', episode, record: { observations: [r.observation as Observation], actions: [], rewards: [], invalid: [], return: 0 }, timings: [], complete: false };
        episodes.set(key, current);
      }
      continue;
    }
    // A step whose reset was not logged (a log cut at its start) cannot be placed: skip it.
    if (!current) continue;
    const info = r.info as { invalidAction?: boolean; timings?: StepTimings } | undefined;
    current.record.actions.push(r.action as number);
    current.record.rewards.push(r.reward as number);
    current.record.invalid.push(Boolean(info?.invalidAction));
    current.record.observations.push(r.observation as Observation);
    current.record.return += r.reward as number;
    if (info?.timings) current.timings.push(info.timings);
    if (r.terminated || r.truncated) current.complete = true;
  }
  const perPolicy = new Map<string, number>();
  const several = wanted.size > 1;
  // A reset followed by no step (a fine-tuning run resets once more after its last update) is no episode.
  return [...episodes.values()].filter((e) => e.record.actions.length > 0).map((e) => {
    const policyKey = `${e.runId}\u0000${e.policy}`;
    const index = perPolicy.get(policyKey) ?? 0;
    perPolicy.set(policyKey, index + 1);
    const label = `${e.policy}${e.mode === 'finetune' ? ' fine-tuning' : ''}, episode ${index + 1}${e.complete ? '' : ' (unfinished)'}${several ? ` [${e.runId}]` : ''}`;
    return { label, runId: e.runId, policy: e.policy, mode: e.mode, episode: e.episode, index, record: e.record, timings: e.timings, complete: e.complete };
  });
}

function policyOf(record: StepLogRecord): string {
  return typeof record.policy === 'string' ? record.policy : 'policy';
}

/** The episodes with the same per-policy index side by side (e.g. ppo, static-best and threshold's first). */
export function episodesByIndex(episodes: LiveEpisode[]): LiveEpisode[][] {
  const groups = new Map<number, LiveEpisode[]>();
  for (const e of episodes) groups.set(e.index, [...(groups.get(e.index) ?? []), e]);
  return [...groups.keys()].sort((a, b) => a - b).map((k) => groups.get(k)!);
}
