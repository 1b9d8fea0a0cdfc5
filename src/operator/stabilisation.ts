/**
 * Stabilisation windows, as the HPA's: a knob goes down only after the policy has asked for it to
 * go down throughout the scale-down window, and up only after the (shorter) scale-up window. A
 * window of 0 takes the change at once. Each knob keeps its own trend: the direction asked for,
 * since when, and from which value; asking for the other direction, holding, or the knob's value
 * changing (by this operator or anyone else) starts the trend again.
 */
import { KNOBS, type Knob, type ScalingConfig } from '../space';

export interface KnobTrend {
  direction: 1 | -1;
  /** When the policy started asking for this direction (ms since the epoch). */
  sinceMs: number;
  /** The knob's value when the trend started. */
  from: number;
}

export type StabiliserState = Partial<Record<Knob, KnobTrend>>;

export interface StabiliseResult {
  config: ScalingConfig;
  state: StabiliserState;
  /** One line per knob whose change is held back, saying for how long it has been asked. */
  held: string[];
}

export interface Windows {
  scaleUpMs: number;
  scaleDownMs: number;
}

export function stabilise(state: StabiliserState, current: ScalingConfig, proposed: ScalingConfig, nowMs: number, windows: Windows): StabiliseResult {
  const next: StabiliserState = {};
  const config = { ...current };
  const held: string[] = [];
  for (const knob of KNOBS) {
    const delta = proposed[knob] - current[knob];
    if (delta === 0) continue;
    const direction: 1 | -1 = delta > 0 ? 1 : -1;
    const previous = state[knob];
    const trend = previous && previous.direction === direction && previous.from === current[knob] ? previous : { direction, sinceMs: nowMs, from: current[knob] };
    next[knob] = trend;
    const windowMs = direction > 0 ? windows.scaleUpMs : windows.scaleDownMs;
    const askedMs = nowMs - trend.sinceMs;
    if (askedMs >= windowMs) config[knob] = proposed[knob];
    else {
      held.push(`${direction > 0 ? 'scale-up' : 'scale-down'} of ${knob} to ${proposed[knob]} held: asked for ${Math.round(askedMs / 1000)} s of the ${Math.round(windowMs / 1000)} s window`);
    }
  }
  return { config, state: next, held };
}
