/**
 * The safety guard: whatever a policy, a policy server or the fallback rule proposes, the
 * configuration that leaves the operator stays within the declared bounds and moves each knob by
 * at most `maxLevelChange` levels per interval. The 7-action space already moves one knob one
 * level, but a policy server answers without seeing the mask and the fallback rule computes a
 * replica count, so nothing is taken on trust.
 */
import { KNOB_UNIT, KNOBS, type Bounds, type ScalingConfig } from '../space';

export interface GuardResult {
  config: ScalingConfig;
  /** One line per knob the guard changed, saying why. */
  adjustments: string[];
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * The proposal clamped to the bounds, then limited to `maxLevelChange` levels from `current`.
 * When `current` itself is outside the bounds, the result moves it back towards them, one
 * allowed step per interval, even if the proposal was to stay.
 */
export function guardConfig(current: ScalingConfig, proposed: ScalingConfig, bounds: Bounds, maxLevelChange: number): GuardResult {
  const config = { ...current };
  const adjustments: string[] = [];
  for (const knob of KNOBS) {
    const unit = KNOB_UNIT[knob];
    let target = Math.round(proposed[knob] / unit) * unit;
    if (target !== proposed[knob]) adjustments.push(`${knob} ${proposed[knob]} -> ${target}: snapped to the grid`);
    const bounded = clamp(target, bounds.min[knob], bounds.max[knob]);
    if (bounded !== target) {
      adjustments.push(`${knob} ${target} -> ${bounded}: ${target < bounds.min[knob] ? `below the minimum ${bounds.min[knob]}` : `above the maximum ${bounds.max[knob]}`}`);
      target = bounded;
    }
    const maxStep = maxLevelChange * unit;
    const step = clamp(target - current[knob], -maxStep, maxStep);
    if (current[knob] + step !== target) {
      adjustments.push(`${knob} ${target} -> ${current[knob] + step}: at most ${maxLevelChange} level(s) per interval from ${current[knob]}`);
    }
    config[knob] = current[knob] + step;
  }
  return { config, adjustments };
}
