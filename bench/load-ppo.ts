/**
 * PPO under changing load, seeds 1, 2 and 3: trained on the Markov task and the synthetic
 * training profiles (load-setup.ts), judged against exact yardsticks.
 *
 * - Markov task: every few training seconds (off the clock) the greedy policy's exact expected
 *   60-step return (expected usage observed, load-evaluate.ts) against the exact optimum over
 *   (configuration x level, x forecast levels when the policy reads a forecast) and the best
 *   static configuration; seconds (training clock) and environment steps until it first
 *   captures 90% of the achievable gain.
 * - The policy reads a 3-window oracle forecast by default: without one, no policy comes near
 *   the held-out traces' clairvoyant bound (bench/load-feasibility.ts).
 * - Held-out traces (the original's load shape and a diurnal HTTP Load Generator trace, never
 *   trained on), each replayed whole from its start without observation noise: the gain captured
 *   against the clairvoyant bound, the SLO attainment (share of windows with p99 within the SLO)
 *   and mean allocated cores of PPO and of the HPA-like rule, averaged over the traces.
 *
 * With the shield on (default) every figure is the shielded policy's: the shield is part of the
 * policy, a function of the observation alone, so the exact yardsticks still apply to it.
 *
 * Reports the worst seed of each figure. The model's predictions, reward tables and noise pools
 * for every rate the sources use are prepared before the training clock starts (setup_seconds).
 *
 * Options: --seeds 1,2,3  --budget SECONDS (training time per seed, default 120)  --reward NAME
 *          --steps N (default 400000; the learning rate anneals over them)
 *          --config JSON (PPO settings over the `load` preset)  --centre 0|1  --scale S (the learner's reward)
 *          --forecast K (windows of oracle forecast observed, default 3)  --start random|eval (default eval)
 *          --eval-seconds S (default 3)
 *          --markov-copies N (copies of the Markov task among the training sources, which episodes
 *          draw uniformly: N of N + 5 episodes run on it; default DEFAULT_MARKOV_COPIES, load-training-set.ts)
 *          --shield slo|none (default slo: the judged policy is the network behind the SLO shield,
 *          src/agent/slo-shield.ts; the network alone's figures are printed on the line before RESULT)
 *          --train-shield none|slo (default none: with slo the shield also acts in training and the
 *          learner sees the shielded action; the checkpoint records it as trainingShield)
 */
import * as path from 'node:path';
import { DEFAULT_MARKOV_COPIES, prepareLoadTask, ratesOf } from '../src/env/load-training-set';
import { makeRequestReward } from '../src/request-reward';
import { DEFAULT_EVALUATION_START, gainShare, LoadTask } from '../src/agent/load-evaluate';
import { hpaLoadPolicy, networkLoadPolicy, type LoadPolicy } from '../src/agent/load-policies';
import { isShieldName, SHIELD_NAMES, shieldedLoadPolicy, SloShield } from '../src/agent/slo-shield';
import { LOAD_LEARNING_REWARD, saveLoadCheckpoint, trainLoad } from '../src/agent/load-train';
import type { PpoConfig } from '../src/agent/ppo-config';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const seeds = option('seeds', '1,2,3').split(',').map(Number);
const budgetSeconds = Number(option('budget', '120'));
const rewardName = option('reward', 'slo');
const totalSteps = Number(option('steps', '400000'));
/** PPO settings over the `load` preset, as JSON (e.g. '{"gamma":0.95}'). */
const overrides = JSON.parse(option('config', '{}')) as Partial<PpoConfig>;
/** The learner's reward: centred on the load's best static reward (1) or raw (0), and its scale. */
/** Windows of oracle load forecast the policy observes (0: none; the yardsticks then see none either). */
const forecastSteps = Number(option('forecast', '3'));
/** Where training episodes start: `random` (within the bounds) or `eval` (where the evaluation starts). */
const startOption = option('start', 'eval');
/** Training seconds between exact evaluations on the Markov task. */
const evalSeconds = Number(option('eval-seconds', '3'));
const learningReward = { centre: option('centre', String(Number(LOAD_LEARNING_REWARD.centre))) === '1', scale: Number(option('scale', String(LOAD_LEARNING_REWARD.scale))) };
const INTERVAL = 60;
/**
 * Episodes draw their source uniformly; with one copy the Markov task gets 1 episode in 6 and the
 * smooth synthetic profiles the rest. More copies teach sudden level jumps more often (docs/benchmarks.md).
 */
const markovCopies = Number(option('markov-copies', String(DEFAULT_MARKOV_COPIES)));
/** The SLO shield (src/agent/slo-shield.ts) on the judged policy: `slo` (default) or `none`. */
const shieldOption = option('shield', 'slo');
/** The SLO shield in training: `none` (default) or `slo` (the learner sees the shielded action). */
const trainShieldOption = option('train-shield', 'none');

/** What one policy (the network alone, or with the shield) scores. */
interface Figures {
  secondsTo90: number;
  stepsTo90: number;
  gainMarkov: number;
  gainHeldout: number;
  /** Per held-out trace, in HELD_OUT_PROFILE_SPECS order. */
  heldOutGains: number[];
  sloPpo: number;
  coresPpo: number;
}

interface SeedResult {
  seed: number;
  /** The figures the RESULT line reports: shielded when --shield slo. */
  reported: Figures;
  /** The network alone. */
  unshielded: Figures;
  sloHpa: number;
  coresHpa: number;
  /** Actions the shield replaced on the held-out traces / actions taken. */
  shieldReplaced: string;
  checkpoint: string;
}

function emptyFigures(): Figures {
  return { secondsTo90: Infinity, stepsTo90: Infinity, gainMarkov: NaN, gainHeldout: NaN, heldOutGains: [], sloPpo: NaN, coresPpo: NaN };
}

function formatFigures(f: Figures): string {
  return `to 90% ${f.secondsTo90.toFixed(1)} s / ${f.stepsTo90} steps, Markov gain ${f.gainMarkov.toFixed(3)}, held-out gain ${f.heldOutGains.map((g) => g.toFixed(3)).join(' / ')}, SLO ${f.sloPpo.toFixed(3)}, cores ${f.coresPpo.toFixed(2)}`;
}

/** The figures of the RESULT line over seeds: the worst seed of each. */
function worstKeys(results: SeedResult[], pick: (r: SeedResult) => Figures): string {
  const max = (f: (x: Figures) => number) => Math.max(...results.map((r) => f(pick(r))));
  const min = (f: (x: Figures) => number) => Math.min(...results.map((r) => f(pick(r))));
  return `seconds_to_90=${max((f) => f.secondsTo90).toFixed(1)} gain_markov=${min((f) => f.gainMarkov).toFixed(3)} gain_heldout=${min((f) => f.gainHeldout).toFixed(3)} slo_ppo=${min((f) => f.sloPpo).toFixed(3)}`;
}

async function main(): Promise<void> {
  if (!Number.isInteger(markovCopies) || markovCopies < 1) throw new Error(`--markov-copies must be a positive integer, got ${option('markov-copies', '')}`);
  if (!isShieldName(shieldOption)) throw new Error(`--shield must be one of ${SHIELD_NAMES.join(', ')}, got ${shieldOption}`);
  if (!isShieldName(trainShieldOption)) throw new Error(`--train-shield must be one of ${SHIELD_NAMES.join(', ')}, got ${trainShieldOption}`);
  const setupStart = performance.now();
  const { dynamics, markov, training, heldOut } = prepareLoadTask({ reward: makeRequestReward(rewardName), markovCopies, intervalSeconds: INTERVAL });
  const shield = new SloShield(dynamics);
  shield.warm([...ratesOf(training), ...ratesOf(heldOut)]);
  const markovTask = new LoadTask(dynamics, markov, { horizon: 60, forecastSteps });
  const markovOptimum = markovTask.optimum().value;
  const markovStatic = markovTask.staticBest().value;
  const heldOutTasks = heldOut.map((source) => new LoadTask(dynamics, source, { observationNoise: false, forecastSteps }));
  const heldOutYardsticks = heldOutTasks.map((task) => ({ optimum: task.optimum().value, staticBest: task.staticBest().value, hpa: task.evaluate(hpaLoadPolicy()) }));
  const setupSeconds = (performance.now() - setupStart) / 1000;
  console.log(`forecast ${forecastSteps} windows, training starts ${startOption}, Markov task ${markovCopies} of ${training.length} training sources, learner reward ${JSON.stringify(learningReward)}, PPO over the load preset ${JSON.stringify(overrides)}, shield: evaluation ${shieldOption}, training ${trainShieldOption}`);
  console.log(`setup ${setupSeconds.toFixed(1)} s: Markov optimum ${markovOptimum.toFixed(3)}, static-best ${markovStatic.toFixed(3)}; held-out ${heldOutTasks.map((t, i) => `${t.source.name.slice(0, 40)}: optimum ${heldOutYardsticks[i].optimum.toFixed(2)}, static-best ${heldOutYardsticks[i].staticBest.toFixed(2)}, hpa ${heldOutYardsticks[i].hpa.return.toFixed(2)}`).join('; ')}`);
  // The shield is part of the policy: a memoryless function of the observation, so the exact yardsticks hold for it.
  const withShield = (policy: LoadPolicy): LoadPolicy => (shieldOption === 'slo' ? shieldedLoadPolicy(policy, shield) : policy);
  const markovGain = (policy: LoadPolicy) => gainShare(markovTask.exactMarkovValue(policy), markovStatic, markovOptimum);

  const results: SeedResult[] = [];
  for (const seed of seeds) {
    const r: SeedResult = { seed, reported: emptyFigures(), unshielded: emptyFigures(), sloHpa: NaN, coresHpa: NaN, shieldReplaced: '', checkpoint: '' };
    let evaluationSeconds = 0;
    let nextEvaluation = 0;
    const result = await trainLoad({
      dynamics,
      sources: training,
      maxSteps: 60,
      learningReward,
      forecastSteps,
      shield: trainShieldOption,
      start: startOption === 'eval' ? { ...DEFAULT_EVALUATION_START } : 'random',
      config: { ...overrides, seed, totalSteps },
      onIteration: (stats, trainer) => {
        if (stats.trainingSeconds > budgetSeconds) return false;
        if (stats.trainingSeconds < nextEvaluation) return;
        nextEvaluation = stats.trainingSeconds + evalSeconds;
        const t0 = performance.now();
        const network = networkLoadPolicy(trainer.policy());
        const gain = markovGain(withShield(network));
        const reach = (figures: Figures, g: number) => {
          if (g < 0.9 || Number.isFinite(figures.secondsTo90)) return;
          figures.secondsTo90 = stats.trainingSeconds;
          figures.stepsTo90 = stats.envSteps;
        };
        reach(r.reported, gain);
        // The network alone is followed until it too reaches 90% (each exact evaluation costs about a second).
        let plain = gain;
        if (shieldOption === 'slo' && !Number.isFinite(r.unshielded.secondsTo90)) reach(r.unshielded, (plain = markovGain(network)));
        if (shieldOption === 'none') reach(r.unshielded, gain);
        evaluationSeconds += (performance.now() - t0) / 1000;
        console.log(`seed ${seed} iteration ${stats.iteration}: ${stats.envSteps} steps, ${stats.trainingSeconds.toFixed(1)} s, ${stats.stepsPerSecond.toFixed(0)} steps/s, Markov gain ${gain.toFixed(3)}${shieldOption === 'slo' ? ` (network alone ${plain.toFixed(3)})` : ''}`);
      },
    });
    const network = networkLoadPolicy(result.policy);
    shield.resetCount();
    const judge = (policy: LoadPolicy, figures: Figures) => {
      figures.gainMarkov = markovGain(policy);
      const held = heldOutTasks.map((task, i) => ({ ppo: task.evaluate(policy), ...heldOutYardsticks[i] }));
      const mean = (f: (h: (typeof held)[number]) => number) => held.reduce((s, h) => s + f(h), 0) / held.length;
      figures.heldOutGains = held.map((h) => gainShare(h.ppo.return, h.staticBest, h.optimum));
      figures.gainHeldout = Math.min(...figures.heldOutGains);
      figures.sloPpo = mean((h) => h.ppo.sloAttainment);
      figures.coresPpo = mean((h) => h.ppo.meanCores);
      r.sloHpa = mean((h) => h.hpa.sloAttainment);
      r.coresHpa = mean((h) => h.hpa.meanCores);
    };
    judge(network, r.unshielded);
    if (shieldOption === 'slo') {
      const before = { replaced: shield.replaced, checked: shield.checked };
      for (const task of heldOutTasks) task.evaluate(withShield(network));
      r.shieldReplaced = `${shield.replaced - before.replaced}/${shield.checked - before.checked}`;
      judge(withShield(network), r.reported);
    } else r.reported = r.unshielded;
    const f = r.reported;
    r.checkpoint = await saveLoadCheckpoint(path.join('checkpoints', `load-ppo-${rewardName}${trainShieldOption === 'slo' ? '-trainshield' : ''}-seed${seed}`), result, {
      overwrite: true,
      metrics: {
        evaluationShield: shieldOption,
        gainMarkov: f.gainMarkov,
        gainHeldout: f.gainHeldout,
        sloAttainment: f.sloPpo,
        meanCores: f.coresPpo,
        unshieldedGainMarkov: r.unshielded.gainMarkov,
        unshieldedGainHeldout: r.unshielded.gainHeldout,
        unshieldedSloAttainment: r.unshielded.sloPpo,
      },
    });
    if (shieldOption === 'slo') console.log(`seed ${seed}, network alone: ${formatFigures(r.unshielded)}`);
    console.log(`seed ${seed}${shieldOption === 'slo' ? `, shielded (${r.shieldReplaced} held-out actions replaced)` : ''}: ${formatFigures(f)} (hpa SLO ${r.sloHpa.toFixed(3)}, cores ${r.coresHpa.toFixed(2)}), evaluation ${evaluationSeconds.toFixed(1)} s`);
    results.push(r);
  }
  const worst = results.reduce((w, r) => (r.reported.gainHeldout < w.reported.gainHeldout ? r : w), results[0]);
  const maxCores = (pick: (r: SeedResult) => Figures) => Math.max(...results.map((r) => pick(r).coresPpo)).toFixed(2);
  console.log(`network alone (unshielded): ppo-load ${worstKeys(results, (r) => r.unshielded)} slo_hpa=${worst.sloHpa.toFixed(3)} cores_ppo=${maxCores((r) => r.unshielded)} cores_hpa=${worst.coresHpa.toFixed(2)}`);
  console.log(
    `RESULT ppo-load ${worstKeys(results, (r) => r.reported)} slo_hpa=${worst.sloHpa.toFixed(3)} cores_ppo=${maxCores((r) => r.reported)} cores_hpa=${worst.coresHpa.toFixed(2)} checkpoint=${path.relative(process.cwd(), worst.checkpoint)}`,
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
