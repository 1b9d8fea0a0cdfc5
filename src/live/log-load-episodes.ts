/**
 * Live episodes under load out of a step log, as the load environment's episodes (LoadEpisode):
 * each step's window (configuration, requests, usage), so the load figures (plot/load-env.ts) and
 * the offline summaries draw and score a live run exactly as an offline one.
 */
import type { LoadEpisode } from '../agent/load-evaluate';
import { readStepLog, type StepLogRecord } from '../env/step-log';
import type { StepMetrics } from '../measurement';
import type { ScalingConfig } from '../space';
import type { RequestStepMetrics } from './live-load';
import { requestMeasurementOf } from './live-reward';

export interface LiveLoadEpisode {
  /** Legend label: the policy, with the episode number when a policy played several. */
  label: string;
  policy: string;
  episode: number;
  load: LoadEpisode;
}

interface LoggedStep {
  policy?: string;
  episode: number;
  action: number;
  reward: number;
  info: { config: ScalingConfig; metrics: StepMetrics; invalidAction: boolean; requests?: RequestStepMetrics };
}

/** The steps of the last run in the log (or of `runId`), grouped by episode; steps without requests are an error. */
export function liveLoadEpisodesFromLog(source: string | StepLogRecord[], runId?: string): LiveLoadEpisode[] {
  const records = typeof source === 'string' ? readStepLog(source).records : source;
  const run = runId ?? [...records].reverse().find((r) => r.type === 'run')?.runId;
  const byEpisode = new Map<number, LoggedStep[]>();
  for (const r of records) {
    if (r.type !== 'step' || r.runId !== run) continue;
    const s = r as unknown as LoggedStep;
    if (!s.info.requests) throw new Error(`${typeof source === 'string' ? source : 'step log'}: step ${String(r.step)} of episode ${s.episode} has no requests; the run had no load source`);
    byEpisode.set(s.episode, [...(byEpisode.get(s.episode) ?? []), s]);
  }
  const episodes = [...byEpisode.entries()].map(([episode, steps]) => {
    const windows = steps.map((s) => requestMeasurementOf(s.info.config, s.info.metrics, s.info.requests!));
    const load: LoadEpisode = {
      return: steps.reduce((sum, s) => sum + s.reward, 0),
      actions: steps.map((s) => s.action),
      rewards: steps.map((s) => s.reward),
      windows,
      rates: windows.map((w) => w.offeredRps),
      invalid: steps.map((s) => s.info.invalidAction),
    };
    return { policy: steps[0].policy ?? 'policy', episode, load };
  });
  const count = new Map<string, number>();
  for (const e of episodes) count.set(e.policy, (count.get(e.policy) ?? 0) + 1);
  const seen = new Map<string, number>();
  return episodes.map((e) => {
    const k = (seen.get(e.policy) ?? 0) + 1;
    seen.set(e.policy, k);
    return { ...e, label: count.get(e.policy)! > 1 ? `${e.policy}, episode ${k}` : e.policy };
  });
}
