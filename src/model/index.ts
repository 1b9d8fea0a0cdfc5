/** The TeaStore web UI performance model (see ./model.ts for its assumptions). */
export type { ModelConfig, LatencyPercentiles, PodPrediction, Prediction, TransitionCost, PerformanceModel } from './types';
