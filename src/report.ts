/**
 * The results page (out/report.html): one self-contained HTML file, plotly inlined, with the
 * returns of the trained policy beside the exact optimum and the baselines, the training curve
 * (from the checkpoint's history.jsonl), and episode plots of the trained policy against the
 * optimal policy.
 */
import { BASELINE_NAMES, optimalPolicy, type ReturnEstimate } from './agent/baselines';
import { readCheckpointMeta } from './agent/checkpoint';
import { readHistory } from './agent/history';
import { runEpisode, type EpisodeRecord, type Policy } from './agent/episode';
import { makeDatasetEnv, type DatasetModel } from './env/dataset-env';
import type { Start } from './env/start';
import { tableHtml } from './plot';
import type { LiveEpisode } from './live/log-episodes';
import { episodesByIndex } from './live/log-episodes';
import type { PolicyResult } from './live/run';
import { liveLoadReportParts, type LiveLoadSection } from './live/load-report';
import {
  actionFrequencyFigure, episodeFigure, escapeHtml, liveComparisonFigure, liveEpisodeFigure, returnsFigure, standaloneHtml, stepTimingFigure,
  trainingFigure, trainingPoints, writeHtmlFile, type Figure, type LabelledEpisode, type ReferenceLine, type TrainingPoint,
} from './plot';

/** Expected returns per start label (e.g. "row:558"), then per policy name. */
export type ReturnsByStart = Record<string, Record<string, ReturnEstimate>>;

function describeEstimate(r: ReturnEstimate | undefined): string {
  if (!r) return '';
  if (r.exact) return 'exact';
  return r.ci95 ? `Monte Carlo, ${r.episodes} episodes, 95% CI [${r.ci95[0].toFixed(2)}, ${r.ci95[1].toFixed(2)}]` : 'Monte Carlo';
}

/**
 * One row per policy with its expected return from each start and how it was obtained; policies
 * not in `policyOrder` (the trained ones) come first, then the optimum and the baselines.
 */
export function returnsTableRows(returns: ReturnsByStart, policyOrder: readonly string[] = BASELINE_NAMES): Record<string, string | number>[] {
  const starts = Object.keys(returns);
  const names = [...new Set([...Object.values(returns).flatMap((r) => Object.keys(r).filter((n) => !policyOrder.includes(n))), ...policyOrder])];
  return names
    .filter((name) => starts.some((s) => returns[s][name] !== undefined))
    .map((name) => {
      const row: Record<string, string | number> = { policy: name };
      for (const start of starts) {
        row[`return from ${start}`] = returns[start][name]?.mean ?? Number.NaN;
        row[`how (${start})`] = describeEstimate(returns[start][name]);
      }
      return row;
    });
}

/** A policy's episode beside the optimal policy's, same start and seed (the same replayed rows where they agree). */
export async function episodesAgainstOptimum(model: DatasetModel, policy: Policy, start: Start, seed: number, label = policy.name): Promise<LabelledEpisode[]> {
  const env = makeDatasetEnv({ model, start, seed });
  const agent: EpisodeRecord = await runEpisode(env, policy, seed);
  const optimum: EpisodeRecord = await runEpisode(env, optimalPolicy(model), seed);
  return [{ label, record: agent }, { label: 'optimum', record: optimum }];
}

/** Every action a policy took over `episodes` seeded episodes from `start`. */
export async function actionsOverEpisodes(model: DatasetModel, policy: Policy, start: Start, episodes: number, seed = 0): Promise<number[]> {
  const env = makeDatasetEnv({ model, start, seed });
  const actions: number[] = [];
  for (let e = 0; e < episodes; e++) actions.push(...(await runEpisode(env, policy, seed + e)).actions);
  return actions;
}

export interface EpisodeSection {
  title: string;
  episodes: LabelledEpisode[];
}

export interface ReportInput {
  title?: string;
  /** Facts about the run shown at the top (run id, checkpoint, preset, seed, training time...). */
  run?: Record<string, string | number>;
  /** Returns of the trained policy, the optimum and the baselines, per start. */
  returns: ReturnsByStart;
  /**
   * The trained policy's checkpoint folder: the training curve comes from its history.jsonl and
   * the run table names the reward the policy was trained on.
   */
  checkpoint?: string;
  /** Training curve points, when there is no checkpoint to read them from. */
  trainingHistory?: TrainingPoint[];
  /** Reference lines on the training curve: the optimum of the training start first. */
  optimum: ReferenceLine[];
  episodes: EpisodeSection[];
  /** A live phase on the cluster simulator (or a cluster), when there was one. */
  live?: LiveSection;
  /** A live phase under load (the checkpoint beside static-best and HPA), when there was one. */
  liveLoad?: LiveLoadSection;
}

export interface LiveSection {
  /** Where it ran (say "cluster simulator" for the simulator) and facts (checkpoints, step logs). */
  where: string;
  run?: Record<string, string | number>;
  /** The test run's comparison: ppo, static-best, threshold. */
  comparison: PolicyResult[];
  stepsPerEpisode: number;
  testEpisodes: LiveEpisode[];
  finetuneEpisodes?: LiveEpisode[];
}

/** The live section: comparison table and figure, the episodes, and where each step's time went. */
export function liveReportParts(live: LiveSection): (Figure | { html: string })[] {
  const parts: (Figure | { html: string })[] = [{ html: `<h2>Live on the ${escapeHtml(live.where)}</h2>` }];
  if (live.run) parts.push({ html: tableHtml(Object.entries(live.run).map(([key, value]) => ({ '': key, value })), { caption: 'live runs' }) });
  const rows = live.comparison.map((r) => ({ policy: r.policy, episodes: r.episodes, 'mean return': r.meanReturn, 'mean step reward': r.meanStepReward, 'refused moves': r.invalidMoves }));
  parts.push({ html: tableHtml(rows, { caption: `live test, ${live.stepsPerEpisode}-step episodes`, digits: 3 }) });
  parts.push(liveComparisonFigure(live.comparison, `Live test on the ${live.where}: return per policy`, live.stepsPerEpisode));
  for (const [k, group] of episodesByIndex(live.testEpisodes).entries()) {
    parts.push(liveEpisodeFigure(group, `Live test episode ${k + 1} on the ${live.where}: ${group.map((e) => e.policy).join(' vs ')}`));
  }
  if (live.finetuneEpisodes?.length) parts.push(liveEpisodeFigure(live.finetuneEpisodes, `Fine-tuning episodes on the ${live.where}`));
  const timed = [...(live.finetuneEpisodes ?? []), ...live.testEpisodes].filter((e) => e.timings.length > 0);
  if (timed.length > 0) parts.push(stepTimingFigure(timed.map((e) => ({ label: e.label, timings: e.timings })), `Where the time of each live step went (${live.where})`));
  return parts;
}

/** The page's parts in order: headings and tables as HTML, figures as plotly figures. */
export function reportParts(input: ReportInput): (Figure | { html: string })[] {
  const title = input.title ?? 'rl-autoscaler: offline training report';
  const parts: (Figure | { html: string })[] = [{ html: `<h1>${escapeHtml(title)}</h1>` }];
  const run = { ...input.run };
  if (input.checkpoint && run.reward === undefined) {
    const { reward } = readCheckpointMeta(input.checkpoint);
    run.reward = `${reward.name} v${reward.version}`;
  }
  if (Object.keys(run).length > 0) {
    parts.push({ html: tableHtml(Object.entries(run).map(([key, value]) => ({ '': key, value })), { caption: 'run' }) });
  }
  parts.push({ html: '<h2>Expected 50-step return</h2>' });
  parts.push({ html: tableHtml(returnsTableRows(input.returns), { digits: 3 }) });
  for (const [start, returns] of Object.entries(input.returns)) {
    parts.push(returnsFigure(Object.entries(returns).map(([label, r]) => ({ label, value: r.mean })), `Expected 50-step return from ${start}`));
  }
  parts.push({ html: '<h2>Training</h2>' });
  const history = input.trainingHistory ?? (input.checkpoint ? trainingPoints(readHistory(input.checkpoint)) : []);
  parts.push(trainingFigure(history, input.optimum, 'PPO training: episodic return and losses'));
  parts.push({ html: '<h2>Episodes</h2>' });
  for (const section of input.episodes) parts.push(episodeFigure(section.episodes, section.title));
  if (input.episodes.length > 0) {
    const byLabel = new Map<string, number[]>();
    for (const { record, label } of input.episodes.flatMap((s) => s.episodes)) byLabel.set(label, [...(byLabel.get(label) ?? []), ...record.actions]);
    parts.push(actionFrequencyFigure([...byLabel].map(([label, actions]) => ({ label, actions })), 'Actions taken in the episodes above'));
  }
  if (input.live) parts.push(...liveReportParts(input.live));
  if (input.liveLoad) parts.push(...liveLoadReportParts(input.liveLoad));
  return parts;
}

/** Writes the report to `outFile` (atomically) and returns its absolute path. */
export function writeReport(outFile: string, input: ReportInput): string {
  return writeHtmlFile(outFile, standaloneHtml(reportParts(input), { title: input.title ?? 'rl-autoscaler report' }));
}

