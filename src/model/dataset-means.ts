/**
 * What the model is calibrated against: the per-configuration means of a TeaStore dataset,
 * recorded at one offered rate (the bundled data: 100 req/s), and the per-row residual ratios
 * (row / its configuration's mean) that give the model's noise.
 */
import { meanByConfig, type TeastoreTable } from '../data';
import { CONFIG_COUNT, configFromIndex, type ScalingConfig } from '../space';

/** Offered load of the bundled dataset, req/s (data/README.md). */
export const DATASET_OFFERED_RPS = 100;

export interface ConfigMeans {
  config: ScalingConfig;
  rows: number;
  cpuCores: number;
  memoryGiB: number;
  /** Transmitted packets/s per pod. */
  outPacketsPerSec: number;
  /** Received packets/s per pod. */
  inPacketsPerSec: number;
}

/**
 * Rows that measured nothing: metrics-server gaps record cpu = ram = 0 (data/README.md); they
 * are left out of means and residuals.
 */
function isGap(table: TeastoreTable, row: number): boolean {
  return table.usedCpuCores[row] === 0 && table.usedRamGiB[row] === 0;
}

function maskedMean(table: TeastoreTable, values: ArrayLike<number>): Float64Array {
  const masked = Float64Array.from(values as ArrayLike<number>, (v, row) => (isGap(table, row) ? Number.NaN : v));
  return meanByConfig(table, masked);
}

/** One record per configuration (config-index order); NaN where a configuration has no rows. */
export function configMeans(table: TeastoreTable): ConfigMeans[] {
  const cpu = maskedMean(table, table.usedCpuCores);
  const ram = maskedMean(table, table.usedRamGiB);
  const out = maskedMean(table, table.outgoingPacketsPerSec);
  const inc = maskedMean(table, table.incomingPacketsPerSec);
  const means: ConfigMeans[] = [];
  for (let c = 0; c < CONFIG_COUNT; c++) {
    means.push({ config: configFromIndex(c), rows: table.configStart[c + 1] - table.configStart[c], cpuCores: cpu[c], memoryGiB: ram[c], outPacketsPerSec: out[c], inPacketsPerSec: inc[c] });
  }
  return means;
}

/** A row's measurement divided by its configuration's mean, per metric. */
export interface ResidualRatio {
  cpu: number;
  memory: number;
  outPackets: number;
  inPackets: number;
}

/**
 * Residual ratios per configuration (config-index order), from rows where every metric was
 * measured; an empty list where a configuration has none.
 */
export function residualRatios(table: TeastoreTable, means: ConfigMeans[]): ResidualRatio[][] {
  const out: ResidualRatio[][] = [];
  for (let c = 0; c < CONFIG_COUNT; c++) {
    const m = means[c];
    const list: ResidualRatio[] = [];
    for (let k = table.configStart[c]; k < table.configStart[c + 1]; k++) {
      const row = table.rowsOfConfig[k];
      if (isGap(table, row)) continue;
      const ratio = {
        cpu: table.usedCpuCores[row] / m.cpuCores,
        memory: table.usedRamGiB[row] / m.memoryGiB,
        outPackets: table.outgoingPacketsPerSec[row] / m.outPacketsPerSec,
        inPackets: table.incomingPacketsPerSec[row] / m.inPacketsPerSec,
      };
      if (Object.values(ratio).every((v) => Number.isFinite(v))) list.push(ratio);
    }
    out.push(list);
  }
  return out;
}
