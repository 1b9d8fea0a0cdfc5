/**
 * Sweeps: the plan's order, the Indexed Job manifest, the command end to end (a parallel sweep, then
 * one of its indexes rerun with JOB_COMPLETION_INDEX), and the simulator's batch/v1 Jobs with
 * dryRun and strict field validation, through the real client library and kubectl.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startSimulator, type Simulator } from '../src/simulator';
import { indexedJobManifest } from '../src/sweep/indexed-job';
import { GRID_KEYS, parseGrid, parseSeeds, pointAt, pointCount, sweepId, sweepPoints } from '../src/sweep/plan';
import { formatCsv } from '../src/sweep/summary';
import type { PointResult } from '../src/sweep/train-point';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'rl-autoscaler.js');
const execFileAsync = promisify(execFile);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv = { ...process.env, ...env };
  if (!('JOB_COMPLETION_INDEX' in env)) delete childEnv.JOB_COMPLETION_INDEX;
  const r = spawnSync(process.execPath, [CLI, 'sweep', ...args], { cwd: ROOT, encoding: 'utf8', env: childEnv, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sweep plan', () => {
  it('reads seeds as ranges and lists, and refuses what is not', () => {
    assert.deepEqual(parseSeeds('1..4'), [1, 2, 3, 4]);
    assert.deepEqual(parseSeeds('7'), [7]);
    assert.deepEqual(parseSeeds('1..3,10'), [1, 2, 3, 10]);
    assert.throws(() => parseSeeds('4..1'), /range 4\.\.1 is empty/);
    assert.throws(() => parseSeeds('1,x'), /"x" is neither an integer nor a range/);
    assert.throws(() => parseSeeds('1..3,2'), /seed 2 appears twice/);
  });

  it('checks grid keys against the training options and types the values', () => {
    const grid = parseGrid(['learning-rate=0.001,0.003', 'no-mask=false,true', 'start=row:558|random-row']);
    assert.deepEqual(grid, [
      { key: 'learning-rate', values: [0.001, 0.003] },
      { key: 'no-mask', values: [false, true] },
      { key: 'start', values: ['row:558', 'random-row'] },
    ]);
    assert.throws(() => parseGrid(['lr=0.1']), (err: Error) => /unknown training option "lr"/.test(err.message) && err.message.includes('learning-rate'));
    assert.throws(() => parseGrid(['steps=1000,1e3.5']), /--grid steps: values must be integers, got "1e3.5"/);
    assert.throws(() => parseGrid(['epochs=4', 'epochs=8']), /epochs is given twice/);
    assert.throws(() => parseGrid(['no-mask=yes']), /true or false/);
    assert.throws(() => parseGrid(['clip']), /key=v1,v2/);
    assert.deepEqual(parseGrid(['max-grad-norm=0.5,none', 'activation=tanh,relu']), [
      { key: 'max-grad-norm', values: [0.5, null] },
      { key: 'activation', values: ['tanh', 'relu'] },
    ]);
    assert.throws(() => parseGrid(['activation=tanh,gelu']), /--grid activation: values must be one of tanh, relu, got "gelu"/);
    assert.throws(() => parseGrid(['clip=none']), /--grid clip: values must be numbers, got "none"/);
    for (const key of ['seed', 'out', 'hidden']) assert.ok(!GRID_KEYS.includes(key), `${key} is not a grid key`);
  });

  it('orders points seeds outermost, the last grid key fastest, and finds any one directly', () => {
    const seeds = [5, 6];
    const grid = parseGrid(['epochs=2,4,8', 'clip=0.1,0.2']);
    const expected: { seed: number; epochs: number; clip: number }[] = [];
    for (const seed of seeds) for (const epochs of [2, 4, 8]) for (const clip of [0.1, 0.2]) expected.push({ seed, epochs, clip });
    const points = sweepPoints(seeds, grid);
    assert.equal(pointCount(seeds, grid), 12);
    assert.deepEqual(points.map((p) => ({ seed: p.seed, ...p.settings })), expected);
    assert.deepEqual(points.map((p) => p.index), [...expected.keys()]);
    assert.deepEqual(pointAt(seeds, grid, 7), points[7]);
    assert.throws(() => pointAt(seeds, grid, 12), /out of range: this sweep has 12 points \(0\.\.11\)/);
    assert.equal(sweepId(seeds, grid, { steps: 1 }), sweepId([5, 6], parseGrid(['epochs=2,4,8', 'clip=0.1,0.2']), { steps: 1 }));
    assert.notEqual(sweepId(seeds, grid, { steps: 1 }), sweepId(seeds, grid, { steps: 2 }));
  });

  it('quotes CSV cells that need it', () => {
    const row = { sweep: 's', index: 0, seed: 1, settings: { start: 'config:1,500,500' }, error: 'exit code 1: "bad"' };
    const csv = formatCsv([row], [{ key: 'start', values: ['config:1,500,500'] }]);
    assert.equal(csv.split('\n')[1], '0,1,"config:1,500,500",,,,,,"FAILED: exit code 1: ""bad"""');
  });
});

describe('Indexed Job manifest', () => {
  it('runs one point per completion index with the sweep arguments, on the claim', () => {
    const job = indexedJobManifest({ name: 'sweep-abc', namespace: 'ml', image: 'img:1', pvc: 'sweeps', mountPath: '/results', completions: 6, parallelism: 8, backoffLimitPerIndex: 2, sweepArgs: ['--seeds', '1..3', '--out', '/results/sweep-abc'] });
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.deepEqual({ ...job.spec, template: undefined }, { completionMode: 'Indexed', completions: 6, parallelism: 6, backoffLimitPerIndex: 2, template: undefined });
    const pod = job.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.deepEqual(pod.containers[0].args, ['sweep', '--seeds', '1..3', '--out', '/results/sweep-abc', '--index', '$(JOB_COMPLETION_INDEX)']);
    assert.deepEqual(pod.volumes, [{ name: 'results', persistentVolumeClaim: { claimName: 'sweeps' } }]);
    assert.equal(pod.containers[0].command, undefined, "the image's entrypoint is the command");
    assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsUser, 'the claim is writable for the image user');
    assert.equal(pod.containers[0].volumeMounts[0].mountPath, '/results');
    assert.throws(() => indexedJobManifest({ ...job.metadata, name: 'Sweep_1', namespace: 'ml', image: 'i', pvc: 'p', mountPath: '/r', completions: 1, parallelism: 1, backoffLimitPerIndex: 1, sweepArgs: [] }), /lowercase DNS label/);
  });
});

describe('rl-autoscaler sweep', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sweep-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // --steps 1 is the smallest budget: one iteration (16 envs x 64 steps).
  const sweepArgs = (out: string) => ['--seeds', '1..2', '--grid', 'learning-rate=0.001,0.003', '--steps', '1', '--out', out];

  it('trains every point in parallel into one table, and one index rerun alone gives its row', () => {
    const out = path.join(dir, 'local');
    const r = cli([...sweepArgs(out), '--parallel', '2']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as { rows: PointResult[] };
    assert.deepEqual(summary.rows.map((row) => [row.index, row.seed, row.settings['learning-rate']]), [[0, 1, 0.001], [1, 1, 0.003], [2, 2, 0.001], [3, 2, 0.003]]);
    for (const row of summary.rows) {
      assert.ok(existsSync(path.join(row.checkpoint, 'meta.json')), `checkpoint of point ${row.index}`);
      const meta = JSON.parse(readFileSync(path.join(row.checkpoint, 'meta.json'), 'utf8'));
      assert.equal(meta.seed, row.seed);
      assert.equal(meta.config.learningRate, row.settings['learning-rate']);
      assert.equal(row.envSteps, 1024);
      assert.ok(Number.isFinite(row.fractionOfOptimum) && row.fractionOfOptimum <= 1, `fraction ${row.fractionOfOptimum}`);
    }
    const markdown = readFileSync(path.join(out, 'summary.md'), 'utf8');
    assert.match(markdown, /^\| index \| seed \| learning-rate \| final_return \| fraction_of_optimum \|/);
    assert.equal(readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n').length, 5);

    // The same command as a Job's pod runs it: the index from the environment, one JSON line on stdout.
    const alone = path.join(dir, 'alone');
    const one = cli(sweepArgs(alone), { JOB_COMPLETION_INDEX: '3' });
    assert.equal(one.code, 0, one.stderr);
    const lines = one.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `stdout: ${one.stdout}`);
    const result = JSON.parse(lines[0]) as PointResult;
    const row = summary.rows[3];
    assert.equal(result.index, 3);
    assert.equal(result.seed, row.seed);
    assert.deepEqual(result.settings, row.settings);
    assert.equal(result.sweep, row.sweep);
    // Same seed and settings on the same backend: the same policy, to the last digit.
    assert.equal(result.fractionOfOptimum, row.fractionOfOptimum);
    assert.equal(result.checkpoint, path.join(alone, 'point-0003'));
  });

  it('keeps a failed point in the table, with its error and log, and exits 1', () => {
    const out = path.join(dir, 'failing');
    const data = path.join(dir, 'broken.csv');
    writeFileSync(data, 'not,a,dataset\n1,2,3\n');
    const r = cli(['--seeds', '1..2', '--steps', '1', '--data', data, '--parallel', '2', '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    const rows = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).rows as { index: number; seed: number; error?: string }[];
    assert.deepEqual(rows.map((row) => [row.index, row.seed]), [[0, 1], [1, 2]]);
    for (const row of rows) {
      assert.match(row.error ?? '', /^exit code 1: .*broken\.csv/);
      assert.ok(existsSync(path.join(out, `point-000${row.index}.log`)), 'the log is kept');
    }
    assert.match(readFileSync(path.join(out, 'summary.md'), 'utf8'), /\| 0 \| 1 \|.*\| FAILED: exit code 1/);
  });

  it('refuses bad sweeps before training anything, naming the problem', () => {
    const out = path.join(dir, 'bad');
    const cases: [string[], RegExp][] = [
      [['--grid', 'lr=1'], /unknown training option "lr"; a grid may vary .*learning-rate/],
      [['--seeds', '1..2', '--grid', 'clip=0.2,-1'], /point 1 \(seed 1, clip=-1\): ppo config: clip must be > 0, got -1/],
      [['--seeds', '1..2', '--grid', 'steps=1,2', '--steps', '5'], /--steps and --grid steps=\.\.\. are both given/],
      [['--seeds', '1..2', '--index', '2'], /point index 2 is out of range: this sweep has 2 points/],
      [['--seeds', '1'], /JOB_COMPLETION_INDEX must be a non-negative integer, got "x"/],
      [['--seeds', '1', '--emit', 'indexed-job'], /needs --pvc NAME/],
      [['--seeds', '1', '--emit', 'indexed-job', '--pvc', 'p', '--out', out], /--out does not apply to --emit/],
      [['--seeds', '1', '--emit', 'indexed-job', '--pvc', 'p', '--mount-path', 'results'], /--mount-path must be an absolute path/],
      [['--seeds', '1', '--data', '/nonexistent/data.csv'], /--data \/nonexistent\/data\.csv does not exist/],
    ];
    for (const [args, message] of cases) {
      const outArgs = args.includes('--emit') ? [] : ['--out', out];
      const r = cli([...(args[0] === '--seeds' ? [] : ['--seeds', '1']), ...args, ...outArgs], message.source.includes('JOB_COMPLETION') ? { JOB_COMPLETION_INDEX: 'x' } : {});
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.ok(!existsSync(out), 'nothing was written');
  });
});

describe('Indexed Jobs against the simulator (client library and kubectl)', () => {
  let simulator: Simulator;
  let batch: k8s.BatchV1Api;
  let manifestFile: string;
  let manifest: k8s.V1Job;
  let dir: string;

  before(async () => {
    simulator = await startSimulator({ port: 0, seed: 1 });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(simulator.kubeconfigPath);
    batch = kc.makeApiClient(k8s.BatchV1Api);
    dir = mkdtempSync(path.join(os.tmpdir(), 'sweep-job-'));
    manifestFile = path.join(dir, 'job.yaml');
    const r = cli(['--seeds', '1..3', '--grid', 'entropy-coef=0,0.01', '--steps', '20000', '--emit', 'indexed-job', '--pvc', 'sweeps', '--parallel', '2', '--job-name', 'ppo-sweep', '--manifest', manifestFile]);
    assert.equal(r.code, 0, r.stderr);
    manifest = parse(readFileSync(manifestFile, 'utf8'));
  });
  after(async () => {
    await simulator.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const jobsStored = () => simulator.store.list(simulator.store.requireType('batch', 'v1', 'jobs'), undefined).length;

  it('emits a manifest whose every index runs the sweep with its index', () => {
    assert.equal(manifest.spec?.completions, 6);
    assert.equal(manifest.spec?.parallelism, 2);
    assert.equal(manifest.spec?.backoffLimitPerIndex, 1);
    const args = manifest.spec?.template.spec?.containers[0].args ?? [];
    assert.deepEqual(args.slice(0, 7), ['sweep', '--seeds', '1..3', '--grid', 'entropy-coef=0,0.01', '--preset', 'fast']);
    assert.deepEqual(args.slice(-4), ['--out', `/results/${manifest.metadata?.labels?.['rl-autoscaler/sweep']}`, '--index', '$(JOB_COMPLETION_INDEX)']);
  });

  it('createNamespacedJob with dryRun All validates and answers, and stores nothing', async () => {
    const discovery = await (await fetch(`${simulator.apiUrl}/apis/batch/v1`)).json();
    assert.deepEqual(discovery.resources.map((r: { name: string }) => r.name), ['jobs', 'jobs/status']);
    const answered = await batch.createNamespacedJob({ namespace: 'default', body: manifest, dryRun: 'All', fieldValidation: 'Strict' });
    assert.equal(answered.metadata?.name, 'ppo-sweep');
    assert.equal(answered.spec?.completionMode, 'Indexed');
    assert.equal(answered.spec?.backoffLimit, 2147483647, 'defaulted as with backoffLimitPerIndex');
    assert.equal(jobsStored(), 0);
    const list = await batch.listNamespacedJob({ namespace: 'default' });
    assert.equal(list.items.length, 0);
  });

  it('creates, gets, lists and deletes a Job; a dry-run delete keeps it', async () => {
    await batch.createNamespacedJob({ namespace: 'default', body: manifest });
    const got = await batch.readNamespacedJob({ name: 'ppo-sweep', namespace: 'default' });
    assert.equal(got.spec?.completions, 6);
    assert.deepEqual((await batch.listNamespacedJob({ namespace: 'default' })).items.map((j) => j.metadata?.name), ['ppo-sweep']);
    await assert.rejects(batch.createNamespacedJob({ namespace: 'default', body: manifest, dryRun: 'All' }), (err: k8s.ApiException<unknown>) => err.code === 409);
    await batch.deleteNamespacedJob({ name: 'ppo-sweep', namespace: 'default', dryRun: 'All' });
    assert.equal(jobsStored(), 1);
    await batch.deleteNamespacedJob({ name: 'ppo-sweep', namespace: 'default' });
    assert.equal(jobsStored(), 0);
  });

  it('refuses an invalid Job with 422 naming the fields, dry run or not', async () => {
    const invalid = structuredClone(manifest);
    invalid.spec!.completionMode = 'NonIndexed';
    invalid.spec!.template.spec!.restartPolicy = 'Always';
    for (const dryRun of ['All', undefined]) {
      await assert.rejects(batch.createNamespacedJob({ namespace: 'default', body: invalid, dryRun }), (err: k8s.ApiException<string>) => {
        const status = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
        assert.equal(err.code, 422);
        assert.match(status.message, /spec\.backoffLimitPerIndex: Invalid value: requires indexed completion mode/);
        assert.match(status.message, /spec\.template\.spec\.restartPolicy: Unsupported value: "Always"/);
        return true;
      });
    }
    assert.equal(jobsStored(), 0);
  });

  it('fieldValidation=Strict refuses unknown fields (the client library drops them, so raw HTTP)', async () => {
    const body = structuredClone(manifest) as unknown as Record<string, any>;
    body.spec.paralelism = 3;
    body.spec.template.spec.containers[0].imagePullPolice = 'Always';
    const post = (query: string) => fetch(`${simulator.apiUrl}/apis/batch/v1/namespaces/default/jobs?${query}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const strict = await post('dryRun=All&fieldValidation=Strict');
    assert.equal(strict.status, 400);
    assert.equal((await strict.json()).message, 'strict decoding error: unknown field "spec.paralelism", unknown field "spec.template.spec.containers[0].imagePullPolice"');
    const warned = await post('dryRun=All&fieldValidation=Warn');
    assert.equal(warned.status, 201);
    assert.match(warned.headers.get('warning') ?? '', /unknown field \\"spec\.paralelism\\"/);
    const badDryRun = await post('dryRun=Some');
    assert.equal(badDryRun.status, 400);
    assert.match((await badDryRun.json()).message, /Invalid dryRun value "Some"/);
    assert.equal(jobsStored(), 0);
  });

  it('honours dryRun=All on a patch and a delete of other kinds too', async () => {
    const url = `${simulator.apiUrl}/apis/apps/v1/namespaces/app2scale/deployments/teastore-webui`;
    const before = await (await fetch(url)).json();
    const patched = await fetch(`${url}?dryRun=All`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: 7 } }) });
    assert.equal(patched.status, 200);
    assert.equal((await patched.json()).spec.replicas, 7, 'the answer shows the change');
    const invalid = await fetch(`${url}?dryRun=All`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: -1 } }) });
    assert.equal(invalid.status, 422, 'and is validated');
    const deleted = await fetch(`${url}?dryRun=All`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    const after = await (await fetch(url)).json();
    assert.equal(after.spec.replicas, before.spec.replicas);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing was written');
  });

  it('kubectl apply --dry-run=server accepts the manifest and refuses a broken one', { skip: !existsSync('/usr/bin/kubectl') && 'kubectl is not installed' }, async () => {
    const env = { ...process.env, KUBECONFIG: simulator.kubeconfigPath };
    const ok = await execFileAsync('kubectl', ['apply', '--dry-run=server', '-f', manifestFile], { env });
    assert.match(ok.stdout, /job\.batch\/ppo-sweep created \(server dry run\)/);
    assert.equal(jobsStored(), 0);
    const broken = readFileSync(manifestFile, 'utf8').replace('  completions: 6\n', '  completions: 6\n  paralelism: 3\n');
    const brokenFile = path.join(dir, 'broken.yaml');
    writeFileSync(brokenFile, broken);
    await assert.rejects(execFileAsync('kubectl', ['apply', '--dry-run=server', '-f', brokenFile], { env }), (err: { stderr: string }) => /strict decoding error: unknown field "spec\.paralelism"/.test(err.stderr));
    assert.equal(jobsStored(), 0);
  });
});
