/**
 * Compares PPO settings on the load task with one setup: each variant trains for a short budget
 * per seed and is judged as bench/load-ppo.ts judges (exact Markov gain every few training
 * seconds, off the clock; held-out gain against the clairvoyant bound at the end). Prints one
 * line per variant and seed: the gain at fixed step counts, seconds and steps to 90%, final gains.
 *
 * Options: --variants JSON (a list of {name, config?, scale?, centre?, steps?, noise?, markovCopies?, extraProfiles?})  --seeds 1,2
 *          --budget SECONDS (default 60)  --forecast K (default 3)  --eval-seconds S (default 3)
 */
import { parseLoadSources } from '../src/env/load-setup';
import { prepareLoadTask, trainingLoadSources } from '../src/env/load-training-set';
import { makeRequestReward } from '../src/request-reward';
import { DEFAULT_EVALUATION_START, gainShare, LoadTask } from '../src/agent/load-evaluate';
import { networkLoadPolicy } from '../src/agent/load-policies';
import { LOAD_LEARNING_REWARD, trainLoad } from '../src/agent/load-train';
import type { PpoConfig } from '../src/agent/ppo-config';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

interface Variant {
  name: string;
  config?: Partial<PpoConfig>;
  scale?: number;
  centre?: boolean;
  steps?: number;
  /** Observe usage with the model's noise in training (default true). */
  noise?: boolean;
  /** Copies of the Markov task among the training sources (drawn uniformly; default 1, 0: none). */
  markovCopies?: number;
  /** Extra training profile specs. */
  extraProfiles?: string[];
}

const variants = JSON.parse(option('variants', '[{"name":"load preset"}]')) as Variant[];
const seeds = option('seeds', '1,2').split(',').map(Number);
const budgetSeconds = Number(option('budget', '60'));
const forecastSteps = Number(option('forecast', '3'));
const evalSeconds = Number(option('eval-seconds', '3'));
const INTERVAL = 60;
/** Environment steps at which the gain is reported (steps, unlike seconds, do not depend on what else runs). */
const MARKS = [50_000, 100_000, 150_000, 200_000, 300_000, 400_000];

async function main(): Promise<void> {
  const { dynamics, markov, heldOut } = prepareLoadTask({ reward: makeRequestReward('slo'), markovCopies: 1, intervalSeconds: INTERVAL });
  const markovTask = new LoadTask(dynamics, markov, { horizon: 60, forecastSteps });
  const optimum = markovTask.optimum().value;
  const staticBest = markovTask.staticBest().value;
  const heldOutTasks = heldOut.map((source) => new LoadTask(dynamics, source, { observationNoise: false, forecastSteps }));
  const heldOutBounds = heldOutTasks.map((task) => ({ optimum: task.optimum().value, staticBest: task.staticBest().value }));

  for (const v of variants) {
    for (const seed of seeds) {
      const marks: string[] = [];
      let next = 0;
      let markIndex = 0;
      let best = -Infinity;
      let to90 = '';
      const result = await trainLoad({
        dynamics,
        sources: [...trainingLoadSources(v.markovCopies ?? 1, INTERVAL), ...(v.extraProfiles ? parseLoadSources(v.extraProfiles, INTERVAL) : [])],
        observationNoise: v.noise ?? true,
        maxSteps: 60,
        learningReward: { centre: v.centre ?? LOAD_LEARNING_REWARD.centre, scale: v.scale ?? LOAD_LEARNING_REWARD.scale },
        forecastSteps,
        start: { ...DEFAULT_EVALUATION_START },
        config: { ...v.config, seed, totalSteps: v.steps ?? 400_000 },
        onIteration: (stats, trainer) => {
          if (stats.trainingSeconds > budgetSeconds) return false;
          if (stats.trainingSeconds < next) return;
          next = stats.trainingSeconds + evalSeconds;
          const gain = gainShare(markovTask.exactMarkovValue(networkLoadPolicy(trainer.policy())), staticBest, optimum);
          best = Math.max(best, gain);
          if (gain >= 0.9 && !to90) to90 = `${stats.trainingSeconds.toFixed(0)} s / ${stats.envSteps} steps`;
          while (markIndex < MARKS.length && stats.envSteps >= MARKS[markIndex]) {
            marks.push(gain.toFixed(2));
            markIndex++;
          }
        },
      });
      const policy = networkLoadPolicy(result.policy);
      const last = result.history[result.history.length - 1];
      const rolloutShare = result.history.reduce((sum, h) => sum + h.rolloutSeconds, 0) / last.trainingSeconds;
      const gainMarkov = gainShare(markovTask.exactMarkovValue(policy), staticBest, optimum);
      const held = heldOutTasks.map((task, i) => {
        const e = task.evaluate(policy);
        return { gain: gainShare(e.return, heldOutBounds[i].staticBest, heldOutBounds[i].optimum), slo: e.sloAttainment, cores: e.meanCores };
      });
      console.log(
        `${v.name} | seed ${seed} | gain at ${MARKS.map((m) => m / 1000).join('/')}k steps: ${marks.join(' / ')} | best ${best.toFixed(3)} | to 90% ${to90 || 'never'} | end ${last.envSteps} steps ${last.trainingSeconds.toFixed(0)} s (rollouts ${(100 * rolloutShare).toFixed(0)}%): Markov ${gainMarkov.toFixed(3)}, held-out ${held.map((h) => h.gain.toFixed(3)).join('/')}, SLO ${held.map((h) => h.slo.toFixed(3)).join('/')}, cores ${held.map((h) => h.cores.toFixed(2)).join('/')}`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
