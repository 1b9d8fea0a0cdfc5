/**
 * Turning a batch of observations into decisions with a plain-array policy: one forward pass of
 * actor and critic for the whole batch, then per request a sampled or greedy action (or the
 * client's own, for log-action) with its log-probability and the observation's value.
 * The server and the client's local policy copy both act through here, so the two modes agree.
 */
import { greedyFromLogits, sampleFromLogits, type PpoPolicy } from '../agent/policy';
import type { Rng } from '../random';
import * as space from '../space';
import type { Observation } from '../space';
import { maskToBits } from './experience-events';

// Module-local copies: run from TypeScript, every use of an imported binding is a getter call,
// and these are read in the per-decision loops.
const ACTION_COUNT = space.ACTION_COUNT;
const OBSERVATION_SIZE = space.OBSERVATION_SIZE;
const NEXT_CONFIG = space.NEXT_CONFIG;
const { configIndex, encodeObservation } = space;

export interface DecisionRequest {
  observation: Observation;
  /** Sample from the policy (true) or take its most likely allowed action. */
  explore: boolean;
  /** An action the client chose itself: only its log-probability and the value are computed. */
  action?: number;
}

export interface Decision {
  action: number;
  logProb: number;
  value: number;
  /** Valid actions as bits; a logged action is always included so its probability is not 0. */
  mask: number;
}

/** log softmax(logits)[action] over the actions allowed by `mask`. */
function maskedLogProb(logits: Float32Array, offset: number, mask: Uint8Array, action: number): number {
  let max = -Infinity;
  for (let a = 0; a < ACTION_COUNT; a++) if (mask[a] && logits[offset + a] > max) max = logits[offset + a];
  let total = 0;
  for (let a = 0; a < ACTION_COUNT; a++) if (mask[a]) total += Math.exp(logits[offset + a] - max);
  return logits[offset + action] - max - Math.log(total);
}

export function decideBatch(policy: PpoPolicy, requests: readonly DecisionRequest[], rng: Rng): Decision[] {
  const n = requests.length;
  const inputs = new Float32Array(n * OBSERVATION_SIZE);
  for (let i = 0; i < n; i++) encodeObservation(requests[i].observation, inputs, i * OBSERVATION_SIZE);
  const logits = policy.logits(inputs, n);
  const values = policy.values(inputs, n);
  const out: Decision[] = new Array(n);
  const mask = new Uint8Array(ACTION_COUNT);
  for (let i = 0; i < n; i++) {
    const r = requests[i];
    // The actions that stay on the grid (actionMask's answer, from the transition table).
    const next = configIndex(r.observation) * ACTION_COUNT;
    for (let a = 0; a < ACTION_COUNT; a++) mask[a] = NEXT_CONFIG[next + a] >= 0 ? 1 : 0;
    const offset = i * ACTION_COUNT;
    let action: number;
    if (r.action !== undefined) {
      action = r.action;
      mask[action] = 1;
    } else if (r.explore) {
      action = sampleFromLogits(logits, offset, ACTION_COUNT, rng, mask).action;
    } else {
      action = greedyFromLogits(logits, offset, ACTION_COUNT, mask);
    }
    out[i] = { action, logProb: maskedLogProb(logits, offset, mask, action), value: values[i], mask: maskToBits(mask) };
  }
  return out;
}
