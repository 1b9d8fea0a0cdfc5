/**
 * Live step overhead on the cluster simulator with a real Prometheus: a short episode of the
 * static-best walk (every step changes the deployment), logged step by step. Prints
 * `RESULT live-step overhead_ms=X steps=N logged=M`: the median per step of the wall time not spent
 * in configured waits (warm-up, window) or in the simulator's pod start, stop and resize delays.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { staticBestPolicy } from '../src/agent/baselines';
import { makeClusterEnv, SIMULATOR_TIMINGS, type LiveStepInfo } from '../src/env/cluster-env';
import { DatasetModel } from '../src/env/dataset-env';
import { readStepLog, StepLog } from '../src/env/step-log';
import { StepLogger } from '../src/env/wrappers';
import { median } from '../src/live/summary';
import { simulatedResizeMs, simulatedRolloutMs, startSimulatorStack } from '../src/live/simulator-stack';

const STEPS = Number(process.env.BENCH_STEPS ?? 12);

async function main(): Promise<void> {
  const stack = await startSimulatorStack({ seed: 1 });
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-live-')), 'steps.jsonl');
  const log = new StepLog(logFile);
  try {
    const live = makeClusterEnv({ kube: stack.kube, metrics: stack.metrics, maxSteps: STEPS, timings: SIMULATOR_TIMINGS, startConfig: { replicas: 4, cpuMillis: 300, heapMB: 800 } });
    const env = new StepLogger(live, log, { runId: 'bench-live' });
    const policy = staticBestPolicy(new DatasetModel());
    let { observation, info } = await env.reset();
    let config = info.config;
    const overheads: number[] = [];
    for (let k = 0; k < STEPS; k++) {
      const step = await env.step(policy.act(observation, env.actionMask()));
      const t = (step.info as LiveStepInfo).timings;
      const resizeMs = (step.info as LiveStepInfo).change?.path === 'in-place' ? simulatedResizeMs() : 0;
      const waited = t.warmupMs + live.unwrapped.timings.windowSeconds * 1000 + resizeMs + Math.min(t.rolloutMs, simulatedRolloutMs(config, step.info.config));
      overheads.push(t.totalMs - waited);
      console.log(`step ${k + 1}: ${step.info.config.replicas}x ${step.info.config.cpuMillis}m ${step.info.config.heapMB}MB  total ${t.totalMs.toFixed(0)} ms, rollout ${t.rolloutMs.toFixed(0)} ms, overhead ${(t.totalMs - waited).toFixed(0)} ms`);
      observation = step.observation;
      config = step.info.config;
      if (step.truncated || step.terminated) break;
    }
    log.close();
    const logged = readStepLog(logFile).records.filter((r) => r.type === 'step').length;
    console.log(`RESULT live-step overhead_ms=${median(overheads).toFixed(0)} steps=${overheads.length} logged=${logged}`);
  } finally {
    log.close();
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
