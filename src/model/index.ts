/** The TeaStore web UI performance model (see ./model.ts for its assumptions). */
export type { ModelConfig, LatencyPercentiles, PodPrediction, Prediction, TransitionCost, PerformanceModel } from './types';
export { DEFAULT_PARAMETERS, checkParameters, type ModelParameters } from './parameters';
export { createPerformanceModel, loadPerformanceModel, modelFromDatasetV2, modelFromTable, teastoreModel, type ModelSource } from './model';
export { calibrateFromPoints, type PointCalibration, type PointCalibrationOptions } from './point-calibration';
export { CAPACITY_TOLERANCE, RECOVERY_TOLERANCE } from './recovery';
export { calibrate, type CalibrationOptions } from './calibration';
export { fitReport, FIT_METRICS, type FitMetric, type FitReport, type FitRow, type MetricFit } from './fit-report';
export { configMeans, residualRatios, DATASET_OFFERED_RPS, type ConfigMeans, type ResidualRatio } from './dataset-means';
export { noNoise, residualNoise, type NoiseSource } from './noise';
export { heapFactor, podCapacity } from './steady-state';
export { rSquared, medianAbsPercentError, spearman } from './statistics';
