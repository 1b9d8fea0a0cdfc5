/** `rl-autoscaler baselines`: expected returns of the baselines and of the exact optimum. */
import { baselineReturns, BASELINE_NAMES, type ReturnEstimate } from '../agent/baselines';
import { DatasetModel } from '../env/dataset-env';
import { formatStart } from '../env/start';
import { datasetOption, intOption, parseOptions, rewardOption, startOption } from './args';
import { BASELINES } from './definitions';
import { runLoadBaselines, wantsLoadEnv } from './load-env';

export function formatBaselineTable(start: string, returns: Record<string, ReturnEstimate>): string {
  const lines = [`expected 50-step return from ${start}`, `  ${'policy'.padEnd(12)} ${'return'.padStart(9)}  how`];
  for (const name of BASELINE_NAMES) {
    const r = returns[name];
    const how = r.exact ? 'exact' : `Monte Carlo, ${r.episodes} episodes, 95% CI [${r.ci95![0].toFixed(3)}, ${r.ci95![1].toFixed(3)}]`;
    lines.push(`  ${name.padEnd(12)} ${r.mean.toFixed(3).padStart(9)}  ${how}`);
  }
  return lines.join('\n');
}


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, BASELINES.options);
  if (wantsLoadEnv(opts)) return runLoadBaselines(opts);
  const reward = rewardOption(opts.reward);
  const start = startOption(opts.start!);
  const model = new DatasetModel({ reward, table: datasetOption(opts) });
  const returns = baselineReturns(model, start, { episodes: intOption(opts.episodes, 'episodes', 2000), seed: intOption(opts.seed, 'seed', 0) });
  if (opts.json) {
    const means = Object.fromEntries(BASELINE_NAMES.map((n) => [n, returns[n].mean]));
    console.log(JSON.stringify({ start: formatStart(start), returns: means }));
  } else {
    console.log(formatBaselineTable(formatStart(start), returns));
  }
  return 0;
}
