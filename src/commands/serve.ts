/** `rl-autoscaler serve`: the policy server (learns PPO from the experience clients report). */
import { DEFAULT_MAX_STALENESS } from '../server/experience-training';
import { DEFAULT_TRAIN_BATCH } from '../server/learner';
import { HTTP_LAYERS, PolicyServer, type HttpLayer } from '../server/server';
import { DEFAULT_LEARNER_NICENESS } from '../server/threaded-learner';
import { DURABILITIES, type Durability } from '../server/experience-log';
import { LEARNER_MODES, type LearnerMode } from '../server/learner-channel';
import { intOption, parseOptions, rewardOption } from './args';
import { UsageError } from './types';
import { SERVE } from './definitions';


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, SERVE.options);
  const port = intOption(opts.port, 'port', 9900);
  if (port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${port}`);
  const trainBatch = intOption(opts['train-batch'], 'train-batch', DEFAULT_TRAIN_BATCH);
  if (trainBatch < 2) throw new UsageError(`--train-batch must be at least 2, got ${trainBatch}`);
  const keep = intOption(opts['keep-checkpoints'], 'keep-checkpoints', 3);
  if (keep < 1) throw new UsageError(`--keep-checkpoints must be at least 1, got ${keep}`);
  const staleness = intOption(opts['max-staleness'], 'max-staleness', DEFAULT_MAX_STALENESS);
  if (staleness < 0) throw new UsageError(`--max-staleness must be at least 0, got ${staleness}`);
  const niceness = intOption(opts['learner-niceness'], 'learner-niceness', DEFAULT_LEARNER_NICENESS);
  if (niceness < 0 || niceness > 19) throw new UsageError(`--learner-niceness must be 0..19, got ${niceness}`);
  const learnerMode = opts.learner as LearnerMode;
  if (!LEARNER_MODES.includes(learnerMode)) throw new UsageError(`--learner must be ${LEARNER_MODES.join(' or ')}, got ${JSON.stringify(opts.learner)}`);
  const durability = opts.durability as Durability;
  if (!DURABILITIES.includes(durability)) throw new UsageError(`--durability must be ${DURABILITIES.join(' or ')}, got ${JSON.stringify(opts.durability)}`);
  const httpLayer = (opts.http ?? process.env.POLICY_SERVER_HTTP ?? 'lean') as HttpLayer;
  if (!HTTP_LAYERS.includes(httpLayer)) throw new UsageError(`--http must be ${HTTP_LAYERS.join(' or ')}, got ${JSON.stringify(httpLayer)}${opts.http === undefined ? ' (from POLICY_SERVER_HTTP)' : ''}`);
  // The token may come from the environment so that it does not show in the process list.
  const token = opts.token ?? process.env.POLICY_SERVER_TOKEN;
  let server: PolicyServer;
  try {
    server = await PolicyServer.start({
      stateDir: opts['state-dir']!,
      checkpoint: opts.checkpoint,
      host: opts.host,
      port,
      token,
      trainBatch,
      reward: opts.reward === undefined ? undefined : rewardOption(opts.reward),
      keepCheckpoints: keep,
      seed: intOption(opts.seed, 'seed', 1),
      maxStaleness: staleness,
      learnerNiceness: niceness,
      learnerMode,
      learnerIdle: opts['learner-idle'] === true,
      durability,
      http: httpLayer,
    });
  } catch (err) {
    if (/token|cannot switch to/.test((err as Error).message)) throw new UsageError((err as Error).message);
    throw err;
  }
  console.log(`policy server listening on ${server.url} (state dir ${opts['state-dir']}, train batch ${trainBatch}, http ${httpLayer}, learner ${learnerMode}, durability ${durability})`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.error(`${signal}: finishing the running update and closing`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}
