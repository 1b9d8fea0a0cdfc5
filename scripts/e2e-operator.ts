/**
 * End-to-end check of the operator on the cluster simulator with a real Prometheus and kubectl.
 *
 * Starts the simulator and Prometheus, trains a small checkpoint, applies the CRD, the RBAC
 * manifests and the example RLAutoscaler (Apply mode) with short intervals, then a second
 * Deployment and an RLAutoscaler in Recommend mode, runs the operator as a child process
 * (`rl-autoscaler operator --kubeconfig ...`) for a few intervals and stops it with SIGTERM.
 *
 * The verdict does not rely on anything the operator says about itself: configuration changes,
 * bounds, step limits and rollout overlaps are computed from the simulator's own history of each
 * Deployment and from the patches it received.
 *
 * Last line: RESULT operator applied_changes=N recommend_changes=M bound_violations=K
 * Exit code 1 unless N > 0, M = 0 and K = 0.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { saveTrainResult } from '../src/agent/checkpoint';
import { ppoConfig, train } from '../src/agent/ppo';
import { CPU_LIMIT_ANNOTATION, findContainer, parseCpuMillis, readContainerKnobs } from '../src/kube-fields';
import { startPrometheus, type PrometheusHandle } from '../src/prometheus-server';
import { formatConfig, KNOB_UNIT, KNOBS, withinBounds, type Bounds, type ScalingConfig } from '../src/space';
import { startSimulator, type Simulator } from '../src/simulator';
import { DEPLOYMENTS, EVENTS, PODS } from '../src/simulator/resources';
import type { KubeObject } from '../src/simulator/status';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/** What the audit needs to know about one controlled Deployment. */
export interface AuditTarget {
  namespace: string;
  deployment: string;
  container: string;
  heapEnvVar: string;
  bounds: Bounds;
  intervalMs: number;
}

export interface DeploymentVersion {
  atMs: number;
  generation: number;
  config: ScalingConfig;
  /** Whether the previous rollout was complete when this version was written. */
  rolloutCompleteBefore: boolean;
}

/**
 * Records every version of the watched Deployments straight from the simulator's object store
 * (synchronously, as each change is stored), to judge the operator by what actually happened.
 */
export class DeploymentAudit {
  private readonly history = new Map<string, DeploymentVersion[]>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly simulator: Simulator,
    targets: AuditTarget[],
  ) {
    for (const t of targets) {
      const current = simulator.store.find(DEPLOYMENTS, t.namespace, t.deployment);
      this.history.set(this.key(t), current ? [this.version(t, current, true)] : []);
    }
    this.unsubscribe = simulator.store.subscribe((event) => {
      if (event.resourceType !== DEPLOYMENTS) return;
      const target = targets.find((t) => t.namespace === event.object.metadata?.namespace && t.deployment === event.object.metadata?.name);
      if (!target || event.type === 'DELETED') return;
      const list = this.history.get(this.key(target))!;
      const last = list[list.length - 1];
      const next = this.version(target, event.object, event.old ? this.rolloutComplete(target, event.old) : true);
      // A status update (same generation, same configuration); a CPU change in place changes only the annotation.
      if (last && last.generation === next.generation && KNOBS.every((k) => last.config[k] === next.config[k])) return;
      list.push(next);
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  private key(t: AuditTarget): string {
    return `${t.namespace}/${t.deployment}`;
  }

  private version(t: AuditTarget, deployment: KubeObject, rolloutCompleteBefore: boolean): DeploymentVersion {
    const container = findContainer(deployment.spec?.template?.spec?.containers, t.container, this.key(t));
    const knobs = readContainerKnobs(container, t.heapEnvVar, this.key(t));
    // A CPU limit applied in place lives in the Deployment's annotation, not in the template.
    const inPlace = deployment.metadata?.annotations?.[CPU_LIMIT_ANNOTATION];
    if (inPlace !== undefined) knobs.cpuMillis = parseCpuMillis(inPlace);
    return { atMs: Date.now(), generation: deployment.metadata?.generation, config: { replicas: deployment.spec?.replicas, ...knobs }, rolloutCompleteBefore };
  }

  /** The rollout state of `deployment` (the version before a change) and its pods right now. */
  private rolloutComplete(t: AuditTarget, deployment: KubeObject): boolean {
    const s = deployment.status ?? {};
    const want = deployment.spec?.replicas ?? 1;
    const terminating = this.simulator.store
      .list(PODS, t.namespace, (p) => p.metadata?.labels?.['app.kubernetes.io/simulated-by-deployment'] === t.deployment)
      .filter((p) => p.metadata?.deletionTimestamp).length;
    return (s.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0) && (s.readyReplicas ?? 0) === want && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && terminating === 0;
  }

  versions(t: AuditTarget): DeploymentVersion[] {
    return [...(this.history.get(this.key(t)) ?? [])];
  }

  /** Versions whose configuration differs from the one before. */
  changes(t: AuditTarget): { from: DeploymentVersion; to: DeploymentVersion }[] {
    const list = this.versions(t);
    const out: { from: DeploymentVersion; to: DeploymentVersion }[] = [];
    for (let i = 1; i < list.length; i++) {
      if (KNOBS.some((k) => list[i].config[k] !== list[i - 1].config[k])) out.push({ from: list[i - 1], to: list[i] });
    }
    return out;
  }

  /** Every change outside the bounds, of more than one level per knob, within one interval of the last, or during a rollout. */
  violations(t: AuditTarget): string[] {
    const found: string[] = [];
    let lastChangeMs: number | null = null;
    for (const { from, to } of this.changes(t)) {
      const what = `${this.key(t)} ${formatConfig(from.config)} -> ${formatConfig(to.config)}`;
      if (!withinBounds(to.config, t.bounds)) found.push(`${what}: outside the bounds`);
      for (const k of KNOBS) {
        if (Math.abs(to.config[k] - from.config[k]) > KNOB_UNIT[k]) found.push(`${what}: ${k} moved more than one level`);
      }
      // 80% of the interval leaves room for timer jitter, not for a second change in the same interval.
      if (lastChangeMs !== null && to.atMs - lastChangeMs < 0.8 * t.intervalMs) found.push(`${what}: ${to.atMs - lastChangeMs} ms after the previous change`);
      if (!to.rolloutCompleteBefore) found.push(`${what}: started before the previous rollout completed`);
      lastChangeMs = to.atMs;
    }
    return found;
  }
}

/** Status writes for a resource, as the simulator received them: every recommendation must respect bounds and steps. */
export function recommendationViolations(simulator: Simulator, namespace: string, name: string, bounds: Bounds): { writes: number; recommended: number; violations: string[] } {
  const violations: string[] = [];
  let writes = 0;
  let recommended = 0;
  for (const patch of simulator.receivedPatches()) {
    if (patch.resource !== 'rlautoscalers' || patch.subresource !== 'status' || patch.namespace !== namespace || patch.name !== name) continue;
    writes++;
    const status = (patch.body as KubeObject)?.status ?? {};
    const current: ScalingConfig | undefined = status.currentConfig;
    const next: ScalingConfig | undefined = status.recommendedConfig;
    if (!current || !next) continue;
    if (KNOBS.some((k) => next[k] !== current[k])) recommended++;
    if (!withinBounds(next, bounds)) violations.push(`${namespace}/${name}: recommended ${formatConfig(next)} is outside the bounds`);
    for (const k of KNOBS) if (Math.abs(next[k] - current[k]) > KNOB_UNIT[k]) violations.push(`${namespace}/${name}: recommended ${k} ${current[k]} -> ${next[k]} is more than one level`);
  }
  return { writes, recommended, violations };
}

export interface E2eOptions {
  intervalSeconds?: number;
  windowSeconds?: number;
  /** How long the operator runs once both resources are applied. */
  runSeconds?: number;
  log?: (line: string) => void;
}

export interface E2eResult {
  appliedChanges: number;
  recommendChanges: number;
  boundViolations: number;
  violations: string[];
  recommendStatus: KubeObject | undefined;
  events: { reason: string; object: string; message: string }[];
  operatorExitCode: number | null;
  operatorLog: Record<string, unknown>[];
  resultLine: string;
  ok: boolean;
}

function boundsOf(spec: KubeObject): Bounds {
  const b = spec.bounds ?? {};
  return {
    min: { replicas: b.replicas?.min ?? 1, cpuMillis: b.cpuMillis?.min ?? 100, heapMB: b.heapMB?.min ?? 100 },
    max: { replicas: b.replicas?.max ?? 9, cpuMillis: b.cpuMillis?.max ?? 900, heapMB: b.heapMB?.max ?? 900 },
  };
}

/** Writes `file` with the test's settings (checkpoint, Prometheus, short intervals) into `dir`. */
function withOverrides(file: string, dir: string, override: (spec: KubeObject) => void): { path: string; object: KubeObject } {
  const object = parse(readFileSync(file, 'utf8')) as KubeObject;
  override(object.spec);
  const out = path.join(dir, path.basename(file));
  writeFileSync(out, stringify(object));
  return { path: out, object };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function trainCheckpoint(dir: string): Promise<string> {
  const result = await train(ppoConfig({ totalSteps: 20_000, seed: 1 }));
  return saveTrainResult(path.join(dir, 'checkpoint'), result);
}

export async function runOperatorE2e(options: E2eOptions = {}): Promise<E2eResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const intervalSeconds = options.intervalSeconds ?? 5;
  const windowSeconds = options.windowSeconds ?? 4;
  const runSeconds = options.runSeconds ?? 40;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-operator-'));
  let simulator: Simulator | undefined;
  let prometheus: PrometheusHandle | undefined;
  let audit: DeploymentAudit | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const started = Date.now();
    const checkpointPromise = trainCheckpoint(dir);
    simulator = await startSimulator({ seed: 7, podStartDelayMs: 500, podStopDelayMs: 300, measurementPeriodMs: 2000, kubeconfigPath: path.join(dir, 'kubeconfig') });
    prometheus = await startPrometheus({ targets: [simulator.metricsUrl] });
    const checkpoint = await checkpointPromise;
    log(`simulator ${simulator.apiUrl}, prometheus ${prometheus.url}, checkpoint ${checkpoint} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

    const env = { ...process.env, KUBECONFIG: simulator.kubeconfigPath };
    const kubectl = async (...args: string[]) => (await run(KUBECTL, args, { env })).stdout.trim();
    const override = (spec: KubeObject) => {
      spec.policy = { checkpoint };
      spec.metrics = { ...spec.metrics, prometheusUrl: prometheus!.url, windowSeconds, timeoutSeconds: 3 };
      spec.intervalSeconds = intervalSeconds;
      // Scale-down only after two consecutive recommendations, scale-up at once.
      spec.safety = { ...(spec.safety ?? {}), scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: intervalSeconds } };
    };
    const applyResource = withOverrides(path.join(ROOT, 'deploy/example-rlautoscaler.yaml'), dir, override);
    const recommendResource = withOverrides(path.join(ROOT, 'test/fixtures/operator/recommend-rlautoscaler.yaml'), dir, override);
    if (applyResource.object.spec.mode !== 'Apply') throw new Error('deploy/example-rlautoscaler.yaml is expected in Apply mode');

    log(await kubectl('apply', '-f', path.join(ROOT, 'deploy/crd.yaml'), '-f', path.join(ROOT, 'deploy/rbac.yaml')));
    log(await kubectl('apply', '-f', path.join(ROOT, 'test/fixtures/operator/teastore-webui-recommend.yaml')));
    await kubectl('rollout', 'status', 'deployment/teastore-webui-recommend', '--timeout=20s');

    const targetOf = (object: KubeObject): AuditTarget => ({
      namespace: object.metadata!.namespace,
      deployment: object.spec.target.deployment,
      container: object.spec.target.container ?? object.spec.target.deployment,
      heapEnvVar: object.spec.target.heapEnvVar ?? 'CATALINA_OPTS',
      bounds: boundsOf(object.spec),
      intervalMs: intervalSeconds * 1000,
    });
    const applyTarget = targetOf(applyResource.object);
    const recommendTarget = targetOf(recommendResource.object);
    audit = new DeploymentAudit(simulator, [applyTarget, recommendTarget]);

    const operatorLog: Record<string, unknown>[] = [];
    child = spawn(process.execPath, [path.join(ROOT, 'bin/rl-autoscaler.js'), 'operator', '--kubeconfig', simulator.kubeconfigPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          operatorLog.push(JSON.parse(line));
        } catch {
          log(`operator (not JSON): ${line}`);
        }
      }
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    log(await kubectl('apply', '-f', applyResource.path));
    log(await kubectl('apply', '-f', recommendResource.path));
    log(`operator running for ${runSeconds} s (interval ${intervalSeconds} s, window ${windowSeconds} s)`);
    await sleep(runSeconds * 1000);
    log(await kubectl('get', 'rlas'));

    child.kill('SIGTERM');
    const operatorExitCode = await Promise.race([exited, sleep(15_000).then(() => null)]);
    if (operatorExitCode === null) child.kill('SIGKILL');
    if (stderr.trim()) log(`operator stderr: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);

    const applied = audit.changes(applyTarget);
    for (const c of applied) log(`applied: ${formatConfig(c.from.config)} -> ${formatConfig(c.to.config)}`);
    const recommendChanges = audit.changes(recommendTarget).length + simulator.receivedPatches().filter((p) => p.resource === 'deployments' && p.name === recommendTarget.deployment).length;
    const recommendations = recommendationViolations(simulator, recommendTarget.namespace, 'teastore-webui-recommend', recommendTarget.bounds);
    const violations = [...audit.violations(applyTarget), ...audit.violations(recommendTarget), ...recommendations.violations];
    for (const v of violations) log(`violation: ${v}`);
    const recommendStatus = simulator.store.find(simulator.store.requireType('autoscaling.app2scale.dev', 'v1alpha1', 'rlautoscalers'), 'app2scale', 'teastore-webui-recommend')?.status;
    const events = simulator.store.list(EVENTS, 'app2scale').filter((e) => e.involvedObject?.kind === 'RLAutoscaler').map((e) => ({ reason: e.reason, object: e.involvedObject.name, message: e.message }));
    const eventCounts = new Map<string, number>();
    for (const e of events) eventCounts.set(`${e.object}/${e.reason}`, (eventCounts.get(`${e.object}/${e.reason}`) ?? 0) + 1);
    log(`events: ${[...eventCounts].map(([k, n]) => `${k}=${n}`).join(' ') || 'none'}`);
    const paths = new Map<string, number>();
    for (const e of events) {
      const path = e.reason === 'ConfigApplied' ? / by (InPlace|Rollout|Scale):/.exec(e.message)?.[1] : undefined;
      if (path) paths.set(path, (paths.get(path) ?? 0) + 1);
    }
    log(`changes applied by path: ${[...paths].map(([k, n]) => `${k}=${n}`).join(' ') || 'none'}`);
    log(`recommend mode: ${recommendations.writes} status writes, ${recommendations.recommended} with a change recommended; status.recommended=${recommendStatus?.recommended}`);
    log(`operator exit code ${operatorExitCode} after SIGTERM; ${operatorLog.filter((l) => l.msg === 'decision').length} decisions logged`);

    const resultLine = `RESULT operator applied_changes=${applied.length} recommend_changes=${recommendChanges} bound_violations=${violations.length}`;
    return {
      appliedChanges: applied.length,
      recommendChanges,
      boundViolations: violations.length,
      violations,
      recommendStatus,
      events,
      operatorExitCode,
      operatorLog,
      resultLine,
      ok: applied.length > 0 && recommendChanges === 0 && violations.length === 0 && operatorExitCode === 0,
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    audit?.stop();
    await prometheus?.stop();
    await simulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runOperatorE2e().then(
    (result) => {
      console.log(result.resultLine);
      process.exitCode = result.ok ? 0 : 1;
    },
    (err) => {
      console.error(`e2e-operator failed: ${err instanceof Error ? err.stack : String(err)}`);
      console.log('RESULT operator applied_changes=0 recommend_changes=0 bound_violations=0 error=1');
      process.exitCode = 1;
    },
  );
}
