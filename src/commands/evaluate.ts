/** `rl-autoscaler evaluate`: greedy evaluation of a saved policy on the dataset replay. */
import { loadCheckpoint, trainedRewardName } from '../agent/checkpoint';
import { evaluateExact, evaluateGreedy } from '../agent/evaluate';
import { DatasetModel } from '../env/dataset-env';
import { formatStart } from '../env/start';
import { datasetOption, intOption, parseOptions, rewardOption, startOption } from './args';
import { UsageError } from './types';
import { EVALUATE } from './definitions';
import { runLoadEvaluate, wantsLoadEnv } from './load-env';


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, EVALUATE.options);
  if (wantsLoadEnv(opts)) return runLoadEvaluate(opts);
  if (opts.checkpoint === undefined) throw new UsageError('--checkpoint DIR is required');
  const start = startOption(opts.start!);
  const episodes = intOption(opts.episodes, 'episodes', 100);
  if (episodes < 1) throw new UsageError('--episodes must be at least 1');
  const { policy, meta } = loadCheckpoint(opts.checkpoint);
  const rewardName = opts.reward !== undefined ? rewardOption(opts.reward) : trainedRewardName(meta, opts.checkpoint);
  const model = new DatasetModel({ reward: rewardName, table: datasetOption(opts) });
  if (model.table.sha256 !== meta.data.sha256) {
    console.error(`warning: the checkpoint was trained on data ${meta.data.sha256.slice(0, 12)}…, the dataset here is ${model.table.sha256.slice(0, 12)}…`);
  }
  const masked = meta.config.maskActions;
  const result = evaluateGreedy(policy, model, { start, episodes, seed: intOption(opts.seed, 'seed', 0), masked });
  if (opts.json) {
    console.log(JSON.stringify({ mean: result.mean, std: result.std, episodes: result.episodes, optimum: result.optimum, fraction: result.fraction }));
    return 0;
  }
  const exact = evaluateExact(policy, model, start, { masked });
  console.log(`checkpoint ${meta.runId} (${meta.preset ?? 'custom config'}, seed ${meta.seed}, masking ${masked ? 'on' : 'off'})`);
  console.log(`greedy, ${result.episodes} episodes from ${formatStart(start)}: mean ${result.mean.toFixed(3)}, std ${result.std.toFixed(3)}, 95% CI [${result.ci95[0].toFixed(3)}, ${result.ci95[1].toFixed(3)}]`);
  console.log(`exact expected return ${exact.value.toFixed(3)}; optimum ${exact.optimum.toFixed(3)}; fraction of optimum ${exact.fraction.toFixed(4)} (episodes: ${result.fraction.toFixed(4)})`);
  return 0;
}
