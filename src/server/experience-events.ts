/**
 * What the server records about episodes, one event per acknowledged request. The experience log
 * stores these lines; replaying them rebuilds the episodes and the training buffer after a restart.
 */
import type { Observation } from '../space';

export interface StartEvent {
  type: 'start';
  episode: string;
  trainingEnabled: boolean;
  explore: boolean;
  time: number;
}

/** An action taken in an episode: chosen by the policy, or logged by the client (`logged`). */
export interface StepEvent {
  type: 'step';
  episode: string;
  observation: Observation;
  action: number;
  /** Log-probability of the action and value of the observation under the policy of the moment. */
  logProb: number;
  value: number;
  /** Valid actions as bits (bit a set = action a allowed). */
  mask: number;
  logged: boolean;
  /** Number of policy updates behind the weights that acted. */
  policyVersion: number;
}

export interface RewardEvent {
  type: 'reward';
  episode: string;
  reward: number;
  info?: Record<string, unknown>;
}

export interface EndEvent {
  type: 'end';
  episode: string;
  observation: Observation;
  terminated: boolean;
  /** Critic's value of the final observation: the return continues past a truncation. */
  bootstrapValue: number;
}

export type ExperienceEvent = StartEvent | StepEvent | RewardEvent | EndEvent;

/** An event with its position in the log (1, 2, ...). */
export type LoggedEvent = ExperienceEvent & { seq: number };

export function maskToBits(mask: ArrayLike<boolean | number>): number {
  let bits = 0;
  for (let a = 0; a < mask.length; a++) if (mask[a]) bits |= 1 << a;
  return bits;
}

export function bitsToMask(bits: number, count: number, out: Uint8Array = new Uint8Array(count), offset = 0): Uint8Array {
  for (let a = 0; a < count; a++) out[offset + a] = (bits >> a) & 1;
  return out;
}
