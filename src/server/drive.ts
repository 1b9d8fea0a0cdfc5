/**
 * The client loop of the original (reference section 7.3), fixed: every step's action goes through
 * the policy, rewards follow their action, and each episode ends with its final observation and
 * whether it was terminated or only truncated, before the environment is reset.
 */
import type { Env, StepResult } from '../env/types';
import type { PolicyClient } from './client';

export interface DriveOptions {
  /** Environment steps to take in total. */
  steps: number;
  trainingEnabled?: boolean;
  seed?: number;
  /** Called after every step (logging, plotting). */
  onStep?: (step: { episodeId: string; index: number; action: number; result: StepResult }) => void | Promise<void>;
  onEpisodeEnd?: (episode: { episodeId: string; steps: number; totalReward: number }) => void | Promise<void>;
}

export interface DriveSummary {
  steps: number;
  episodes: { episodeId: string; steps: number; totalReward: number }[];
}

export async function driveEnv(env: Env, client: PolicyClient, options: DriveOptions): Promise<DriveSummary> {
  const summary: DriveSummary = { steps: 0, episodes: [] };
  let { observation } = await env.reset({ seed: options.seed });
  let episodeId = await client.startEpisode({ trainingEnabled: options.trainingEnabled ?? true });
  let episodeSteps = 0;
  let totalReward = 0;
  const finish = async (terminated: boolean) => {
    await client.endEpisode(episodeId, observation, { terminated });
    const done = { episodeId, steps: episodeSteps, totalReward };
    summary.episodes.push(done);
    await options.onEpisodeEnd?.(done);
  };
  for (let index = 0; index < options.steps; index++) {
    const action = await client.getAction(episodeId, observation);
    const result = await env.step(action);
    observation = result.observation;
    await client.logReturns(episodeId, result.reward, { ...result.info });
    summary.steps++;
    episodeSteps++;
    totalReward += result.reward;
    await options.onStep?.({ episodeId, index, action, result });
    if (result.terminated || result.truncated) {
      await finish(result.terminated);
      if (index + 1 < options.steps) {
        observation = (await env.reset()).observation;
        episodeId = await client.startEpisode({ trainingEnabled: options.trainingEnabled ?? true });
        episodeSteps = 0;
        totalReward = 0;
      } else {
        return summary;
      }
    }
  }
  // Out of steps mid-episode: a time limit, so the episode ends truncated.
  await finish(false);
  return summary;
}
