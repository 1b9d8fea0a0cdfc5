/**
 * The main job (`npm start`): on the bundled dataset with the embedded defaults, prints the
 * expected return of every baseline and of the exact optimum from both starts.
 */
import { baselineReturns } from './agent/baselines';
import { formatBaselineTable } from './commands/baselines';
import { DatasetModel } from './env/dataset-env';
import { formatStart, ORIGINAL_START, type Start } from './env/start';

async function main(): Promise<void> {
  const model = new DatasetModel();
  console.log(`dataset ${model.table.file}: ${model.table.rowCount} rows, sha256 ${model.table.sha256}`);
  console.log(`reward ${model.reward.name} v${model.reward.version}, invalid-move penalty ${model.reward.invalidPenalty}\n`);
  const starts: Start[] = [ORIGINAL_START, { kind: 'random-row' }];
  for (const start of starts) console.log(formatBaselineTable(formatStart(start), baselineReturns(model, start)) + '\n');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
