/**
 * The report's live-under-load part: the comparison table with each policy's SLO attainment, mean
 * allocated cores, served/offered and changes, and per test episode the load against each
 * policy's capacity, p99 against the SLO line and the configuration over time.
 */
import { teastoreModel } from '../model';
import { escapeHtml, tableHtml, type Figure } from '../plot';
import { loadEpisodeFigure } from '../plot/load-env';
import type { LiveLoadEpisode } from './log-load-episodes';
import type { PolicyResult } from './run';

export interface LiveLoadSection {
  /** Where it ran (say "cluster simulator" for the simulator). */
  where: string;
  /** Facts worth showing: checkpoints, profile, step logs. */
  run?: Record<string, string | number>;
  comparison: PolicyResult[];
  stepsPerEpisode: number;
  testEpisodes: LiveLoadEpisode[];
  p99TargetMs: number;
  stepSeconds: number;
}

/** One row per policy: return, then what it did to the requests and what it allocated. */
export function liveLoadComparisonRows(comparison: readonly PolicyResult[]): Record<string, string | number>[] {
  return comparison.map((r) => ({
    policy: r.policy,
    episodes: r.episodes,
    'mean return': r.meanReturn,
    'SLO attainment': r.load ? r.load.sloAttainment : '',
    'mean cores': r.load ? r.load.meanCores : '',
    'served/offered': r.load ? r.load.servedShare : '',
    'changes per episode': r.load ? r.load.changes : '',
    holds: r.config ? `${r.config.replicas}x ${r.config.cpuMillis}m ${r.config.heapMB}MB` : '',
  }));
}

export function liveLoadReportParts(section: LiveLoadSection): (Figure | { html: string })[] {
  const parts: (Figure | { html: string })[] = [{ html: `<h2>Live under load on the ${escapeHtml(section.where)}</h2>` }];
  if (section.run) parts.push({ html: tableHtml(Object.entries(section.run).map(([key, value]) => ({ '': key, value })), { caption: 'live runs under load' }) });
  parts.push({ html: tableHtml(liveLoadComparisonRows(section.comparison), { caption: `live test under load, ${section.stepsPerEpisode}-step episodes, SLO p99 <= ${section.p99TargetMs} ms`, digits: 3 }) });
  const model = teastoreModel();
  const byEpisode = new Map<number, LiveLoadEpisode[]>();
  // Episode k of every policy together: they ran the same load from the same start.
  const index = new Map<string, number>();
  for (const e of section.testEpisodes) {
    const k = index.get(e.policy) ?? 0;
    index.set(e.policy, k + 1);
    byEpisode.set(k, [...(byEpisode.get(k) ?? []), e]);
  }
  for (const [k, group] of byEpisode) {
    parts.push(
      loadEpisodeFigure(
        group.map((e) => ({ label: e.policy, episode: e.load })),
        { capacity: (c) => model.capacity(c), p99TargetMs: section.p99TargetMs, intervalSeconds: section.stepSeconds, title: `Live test episode ${k + 1} under load on the ${section.where}: load, capacity, p99 and cores per step` },
      ),
    );
  }
  return parts;
}
