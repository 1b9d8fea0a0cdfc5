/**
 * The load task's named parts, shared by the CLI, the benchmark and the notebook: load sources
 * from specs, the training and held-out sets, and the bounds the task uses.
 *
 * A source spec is a profile spec (load/profile-spec.ts: constant, ramp, steps, sine, walk,
 * file:PATH, app2scale, ...), `markov:FILE.json` (a given chain), or `markov-fit:LEVELS:SPEC`
 * (a chain fitted to the profile SPEC cut into control intervals).
 */
import * as path from 'node:path';
import { fitMarkovLoad, loadMarkovFile, windowRates, type MarkovLoad } from '../load/markov';
import { ProfileError } from '../load/profile';
import { parseProfileSpec } from '../load/profile-spec';
import type { Bounds } from '../space';
import { markovSource, traceSource, type LoadSource } from './load-source';

/**
 * The load task's bounds: replicas 1..6, CPU and heap 400..900, the ranges the original settled
 * on (reference 10.1). Below 400 millicores a pod serves almost nothing in the model.
 */
export const LOAD_TASK_BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 400, heapMB: 400 }, max: { replicas: 6, cpuMillis: 900, heapMB: 900 } };

export function parseLoadSource(spec: string, intervalSeconds: number): LoadSource {
  const text = spec.trim();
  if (text.startsWith('markov:')) return markovSource(loadMarkovFile(text.slice('markov:'.length)));
  if (text.startsWith('markov-fit:')) {
    const rest = text.slice('markov-fit:'.length);
    const colon = rest.indexOf(':');
    const levels = Number(rest.slice(0, colon));
    if (colon < 0 || !Number.isInteger(levels) || levels < 1) throw new ProfileError(`${spec}: expected markov-fit:LEVELS:PROFILE, LEVELS a positive integer`, spec);
    const profile = parseProfileSpec(rest.slice(colon + 1));
    return markovSource(fitMarkovLoad(windowRates(profile, intervalSeconds), { levels, name: text }));
  }
  return traceSource(parseProfileSpec(text), intervalSeconds);
}

/** Several sources from a comma-free list: specs separated by whitespace or `;`. */
export function parseLoadSources(specs: string | readonly string[], intervalSeconds: number): LoadSource[] {
  const list = typeof specs === 'string' ? specs.split(/[;\s]+/).filter(Boolean) : specs;
  if (!list.length) throw new ProfileError('no load profile given');
  return list.map((s) => parseLoadSource(s, intervalSeconds));
}

/** The Markov task of the benchmark: four sticky levels over the load the task is sized for. */
export const TRAINING_MARKOV: MarkovLoad = {
  name: 'markov-4',
  levels: [25, 60, 100, 140],
  transition: [
    [0.85, 0.15, 0, 0],
    [0.1, 0.8, 0.1, 0],
    [0, 0.1, 0.8, 0.1],
    [0, 0, 0.15, 0.85],
  ],
};

/** Training profiles: synthetic families (sine, steps, random walks). Never the held-out traces. */
export const TRAINING_PROFILE_SPECS: readonly string[] = [
  'sine:80:55:2h:for=6h',
  'sine:70:40:45m:for=6h',
  'steps:0=30,40m=110,80m=60,120m=140,160m=25:for=4h',
  'walk:70:12:seed=1:min=20:max=150:every=5m:for=6h',
  'walk:90:15:seed=2:min=20:max=150:every=10m:for=6h',
];

/** Held-out traces: the original's load shape and a diurnal trace in HTTP Load Generator format. */
export const HELD_OUT_PROFILE_SPECS: readonly string[] = ['app2scale', `file:${path.resolve(__dirname, '..', '..', 'data', 'load', 'diurnal-http-load-generator.csv')}`];
