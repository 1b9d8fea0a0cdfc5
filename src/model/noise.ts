/**
 * Measurement noise like the dataset's: a sampled measurement multiplies the model's CPU, memory
 * and packet rates by the residual ratios (row / configuration mean) of one recorded row of the
 * same configuration, drawn with the caller's seeded generator. One row for all metrics keeps
 * their correlation. Off the recorded grid, the nearest recorded configuration lends its rows.
 */
import type { Rng } from '../random';
import { CONFIG_COUNT, LEVELS, configFromIndex, configIndex } from '../space';
import type { ResidualRatio } from './dataset-means';
import type { ModelConfig } from './types';

export interface NoiseSource {
  /** Residual ratios of one row, drawn for `config`; all 1 when the source holds no rows. */
  draw(config: ModelConfig, rng: Rng): ResidualRatio;
}

const NO_NOISE: ResidualRatio = { cpu: 1, memory: 1, outPackets: 1, inPackets: 1 };

/** No noise at all (sampleMeasurement then equals predict). */
export const noNoise: NoiseSource = { draw: () => NO_NOISE };

const clampLevel = (value: number, unit: number) => Math.min(LEVELS, Math.max(1, Math.round(value / unit)));

/** Noise from per-configuration residual ratios (config-index order, as `residualRatios` gives). */
export function residualNoise(residuals: ResidualRatio[][]): NoiseSource {
  if (residuals.length !== CONFIG_COUNT) throw new RangeError(`residuals cover ${residuals.length} configurations, expected ${CONFIG_COUNT}`);
  const pooled = residuals.flat();
  return {
    draw(config, rng) {
      const nearest = configIndex({ replicas: clampLevel(config.replicas, 1), cpuMillis: clampLevel(config.cpuMillis, 100) * 100, heapMB: clampLevel(config.heapMB, 100) * 100 });
      const own = residuals[nearest];
      const rows = own.length > 0 ? own : pooled;
      if (rows.length === 0) return NO_NOISE;
      return rows[rng.int(rows.length)];
    },
  };
}

/** The configuration whose residuals a (possibly off-grid) configuration borrows. */
export function noiseConfigFor(config: ModelConfig): ModelConfig {
  return configFromIndex(configIndex({ replicas: clampLevel(config.replicas, 1), cpuMillis: clampLevel(config.cpuMillis, 100) * 100, heapMB: clampLevel(config.heapMB, 100) * 100 }));
}
