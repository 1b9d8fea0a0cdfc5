/**
 * `POST /v1/experience`: finished stretches of experience from a runner that acts with its own
 * copy of the policy (offline environments, where a round trip per step would cost more than the
 * step). Each stretch becomes one training-enabled episode of the log, exactly as if its steps
 * had come one request at a time: start, then per step a logged action and its reward, then the
 * end. The batch names the policy version its actions were sampled from; the learner drops steps
 * too many versions old (PPO is on-policy).
 */
import { actionMask } from '../space';
import { invalidField } from './errors';
import { maskToBits, type ExperienceEvent } from './experience-events';
import { booleanField, finiteNumber, objectWith, parseAction, parseObservation, REWARD_LIMIT } from './validation';

/** Largest request body the endpoint accepts. */
export const EXPERIENCE_BODY_LIMIT = 4 * 1024 * 1024;
/** Steps per batch, at most. */
export const EXPERIENCE_MAX_STEPS = 8192;
/** Values and log-probabilities beyond this are a client bug. */
const VALUE_LIMIT = 1e6;

export interface ExperienceBatch {
  policyVersion: number;
  episodes: ExperienceEvent[][];
  steps: number;
}

/**
 * Validates a batch and lays out each of its episodes as log events (the ids are given by
 * `newId`). Every field is checked before anything is recorded: a bad batch records nothing.
 */
export function parseExperienceBatch(body: unknown, currentVersion: number, newId: () => string, now = Date.now()): ExperienceBatch {
  const o = objectWith(body, 'body', ['policy_version', 'episodes']);
  const version = o.policy_version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > currentVersion) {
    throw invalidField('policy_version', `must be an integer version 0..${currentVersion} (the server's current), got ${JSON.stringify(version)}`);
  }
  if (!Array.isArray(o.episodes) || o.episodes.length === 0) throw invalidField('episodes', 'must be a non-empty array');
  let steps = 0;
  const episodes = o.episodes.map((value, e) => {
    const where = `episodes[${e}]`;
    const episode = objectWith(value, where, ['steps', 'end']);
    if (!Array.isArray(episode.steps) || episode.steps.length === 0) throw invalidField(`${where}.steps`, 'must be a non-empty array');
    steps += episode.steps.length;
    if (steps > EXPERIENCE_MAX_STEPS) throw invalidField('episodes', `more than ${EXPERIENCE_MAX_STEPS} steps in one batch; send smaller batches`);
    const id = newId();
    const events: ExperienceEvent[] = [{ type: 'start', episode: id, trainingEnabled: true, explore: true, time: now }];
    episode.steps.forEach((stepValue, s) => {
      const at = `${where}.steps[${s}]`;
      const step = objectWith(stepValue, at, ['observation', 'action', 'log_prob', 'value', 'reward']);
      const observation = parseObservation(step.observation, `${at}.observation`);
      const action = parseAction(step.action, `${at}.action`);
      const mask = actionMask(observation);
      mask[action] = true;
      events.push({
        type: 'step',
        episode: id,
        observation,
        action,
        logProb: finiteNumber(step.log_prob, `${at}.log_prob`, -VALUE_LIMIT, 0),
        value: finiteNumber(step.value, `${at}.value`, -VALUE_LIMIT, VALUE_LIMIT),
        mask: maskToBits(mask),
        logged: true,
        policyVersion: version,
      });
      events.push({ type: 'reward', episode: id, reward: finiteNumber(step.reward, `${at}.reward`, -REWARD_LIMIT, REWARD_LIMIT) });
    });
    const end = objectWith(episode.end, `${where}.end`, ['observation', 'terminated', 'bootstrap_value']);
    const terminated = booleanField(end.terminated, `${where}.end.terminated`, false);
    const bootstrapValue = terminated ? 0 : finiteNumber(end.bootstrap_value, `${where}.end.bootstrap_value`, -VALUE_LIMIT, VALUE_LIMIT);
    events.push({ type: 'end', episode: id, observation: parseObservation(end.observation, `${where}.end.observation`), terminated, bootstrapValue });
    return events;
  });
  return { policyVersion: version, episodes, steps };
}
