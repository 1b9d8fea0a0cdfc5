import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCheckpoint } from '../src/agent/checkpoint';
import { readHistory } from '../src/agent/history';
import type { Trajectory } from '../src/agent/ppo';
import { Rng } from '../src/random';
import { ACTION_COUNT, OBSERVATION_SIZE, type Observation } from '../src/space';
import { PolicyClient, PolicyServerError, type ExperienceBatchBody } from '../src/server/client';
import { readExperienceLog } from '../src/server/experience-log';
import { PolicyServer, EXPERIENCE_FILE, type PolicyServerOptions } from '../src/server/server';
import { PpoBackend, serverPpoConfig, serverReward } from '../src/server/learner';
import { OffloadedPpoBackend } from '../src/server/threaded-learner';
import { encodeWeights } from '../src/server/weights-codec';

const quiet = () => {};
const BIN = path.join(__dirname, '..', 'bin', 'rl-autoscaler.js');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'server-learner-test-'));
}

function randomObservation(rng: Rng): Observation {
  return { replicas: 1 + rng.int(9), cpuMillis: 100 * (1 + rng.int(9)), heapMB: 100 * (1 + rng.int(9)), usedCpu: rng.next(), usedRam: rng.next() };
}

/** A runner's batch of `episodes` stretches of `steps` steps each, acted by `version`. */
function batchOf(rng: Rng, version: number, episodes: number, steps: number): ExperienceBatchBody {
  return {
    policy_version: version,
    episodes: Array.from({ length: episodes }, () => ({
      steps: Array.from({ length: steps }, () => ({ observation: randomObservation(rng), action: 0, log_prob: -Math.log(7), value: 0, reward: rng.next() })),
      end: { observation: randomObservation(rng), terminated: false, bootstrap_value: 0 },
    })),
  };
}

async function withServer(options: Partial<PolicyServerOptions>, body: (server: PolicyServer, client: PolicyClient) => Promise<void>): Promise<void> {
  const server = await PolicyServer.start({ stateDir: tempDir(), port: 0, log: quiet, ...options });
  try {
    await body(server, new PolicyClient(server.url));
  } finally {
    await server.close();
  }
}

function loggedSteps(stateDir: string) {
  return readExperienceLog(path.join(stateDir, EXPERIENCE_FILE)).events.filter((e) => e.type === 'step');
}

test('a request during an update is answered by the current weights while the learner thread trains', async () => {
  const stateDir = tempDir();
  // Many small minibatches and epochs: an update long enough to send requests into.
  await withServer({ stateDir, trainBatch: 256, ppo: { epochs: 60, minibatchSize: 16 } }, async (server, client) => {
    const rng = new Rng(1);
    await client.postExperience(batchOf(rng, 0, 4, 64));
    const status = await client.status();
    assert.equal(status.learner?.state, 'training', 'a full batch starts an update');
    assert.equal(status.policy_version, 0);

    // Requests while the update runs: answered, and recorded as acted by version 0.
    const id = await client.startEpisode({ trainingEnabled: true });
    let answered = 0;
    for (let k = 0; k < 5; k++) {
      const action = await client.getAction(id, randomObservation(rng));
      assert.ok(Number.isInteger(action) && action >= 0 && action < 7);
      await client.logReturns(id, 1);
      answered++;
    }
    const during = await client.status();
    assert.equal(during.learner?.state, 'training', 'the answers came before the update finished');
    assert.equal(during.policy_version, 0);
    assert.equal(answered, 5);
    const versions = loggedSteps(stateDir).filter((e) => e.type === 'step' && e.episode === id).map((e) => e.type === 'step' && e.policyVersion);
    assert.deepEqual(versions, [0, 0, 0, 0, 0]);

    await server.waitForTraining();
    const after = await client.status();
    assert.equal(after.policy_version, 1);
    assert.equal(after.learner?.state, 'idle');
    assert.ok(after.learner?.last_update_time && Date.parse(after.learner.last_update_time) > Date.now() - 120_000);
    // The next decision is made, and recorded, by the new version.
    await client.getAction(id, randomObservation(rng));
    assert.equal(loggedSteps(stateDir).at(-1)!.type === 'step' && (loggedSteps(stateDir).at(-1) as { policyVersion: number }).policyVersion, 1);
  });
});

test('new weights swap in with their version: served, checkpointed and acted with as one', async () => {
  const stateDir = tempDir();
  await withServer({ stateDir, trainBatch: 64 }, async (server, client) => {
    const rng = new Rng(2);
    const v0 = await client.weights();
    assert.equal(v0!.version, 0);
    await client.postExperience(batchOf(rng, 0, 2, 32));
    await server.waitForTraining();
    const v1 = await client.weights(0);
    assert.ok(v1, 'new weights, so no 304');
    assert.equal(v1.version, 1);
    assert.notDeepEqual(v1.weights.actor.layers[0].kernel, v0!.weights.actor.layers[0].kernel);
    // The checkpoint of version 1 holds exactly the weights served as version 1.
    const saved = loadCheckpoint(path.join(stateDir, 'checkpoints', 'update-000001'));
    assert.equal(saved.meta.metrics.policyVersion, 1);
    assert.deepEqual(encodeWeights(saved.weights), v1.weights);
    assert.equal((await client.health()).policy_version, 1);
    // A local copy at version 1 takes the server's greedy actions.
    const local = new PolicyClient(server.url, { inferenceMode: 'local', updateIntervalMs: 0 });
    await local.handshake();
    assert.equal(local.localPolicyVersion, 1);
    const greedyRemote = await client.startEpisode({ trainingEnabled: false });
    const greedyLocal = await local.startEpisode({ trainingEnabled: false });
    for (let k = 0; k < 20; k++) {
      const obs = randomObservation(rng);
      assert.equal(await local.getAction(greedyLocal, obs), await client.getAction(greedyRemote, obs));
    }
  });
});

test('experience older than --max-staleness versions is dropped and counted, over restarts; a batch from the future is refused', async () => {
  const stateDir = tempDir();
  await withServer({ stateDir, trainBatch: 64, maxStaleness: 0 }, async (server, client) => {
    const rng = new Rng(3);
    await assert.rejects(client.postExperience(batchOf(rng, 1, 1, 8)), (err: PolicyServerError) => err.status === 400 && err.field === 'policy_version');
    await client.postExperience(batchOf(rng, 0, 2, 32));
    await server.waitForTraining();
    let status = await client.status();
    assert.equal(status.policy_version, 1);
    assert.equal(status.learner?.dropped_stale_steps, 0);
    assert.equal(status.learner?.max_staleness, 0);

    // Acted by version 0, now one version behind: dropped, though durable in the log.
    const ack = await client.postExperience(batchOf(rng, 0, 1, 10));
    assert.equal(ack.accepted_steps, 10);
    status = await client.status();
    assert.equal(status.learner?.dropped_stale_steps, 10);
    assert.equal(status.learner?.queued_steps, 0);
    // Acted by the current version: queued for the learner.
    await client.postExperience(batchOf(rng, 1, 1, 10));
    status = await client.status();
    assert.equal(status.learner?.queued_steps, 10);
    assert.equal(status.learner?.dropped_stale_steps, 10);
    assert.match(await (await fetch(server.url + '/metrics')).text(), /^policy_server_experience_events_total \d+$/m);

    // The next update's checkpoint covers the 10 dropped steps; 4 more go stale after it.
    await client.postExperience(batchOf(rng, 1, 1, 54));
    await server.waitForTraining();
    await client.postExperience(batchOf(rng, 1, 1, 4));
    status = await client.status();
    assert.equal(status.policy_version, 2);
    assert.equal(status.learner?.dropped_stale_steps, 14);
  });
  // A restart skips the steps inside its checkpoint and replays the others: the count is the same.
  await withServer({ stateDir, trainBatch: 64, maxStaleness: 0 }, async (_server, client) => {
    const status = await client.status();
    assert.equal(status.policy_version, 2);
    assert.equal(status.learner?.dropped_stale_steps, 14);
    assert.equal(status.steps_trained + status.transitions_buffered + status.learner!.dropped_stale_steps, loggedSteps(stateDir).length);
  });
});

test('a malformed experience batch records nothing and names the field', async () => {
  const stateDir = tempDir();
  await withServer({ stateDir, trainBatch: 64 }, async (_server, client) => {
    const rng = new Rng(4);
    const bad = batchOf(rng, 0, 2, 3);
    (bad.episodes[1].steps[2] as { log_prob: number }).log_prob = 0.5;
    await assert.rejects(client.postExperience(bad), (err: PolicyServerError) => err.status === 400 && err.field === 'episodes[1].steps[2].log_prob');
    const noBootstrap = batchOf(rng, 0, 1, 3);
    delete noBootstrap.episodes[0].end.bootstrap_value;
    await assert.rejects(client.postExperience(noBootstrap), (err: PolicyServerError) => err.status === 400 && err.field === 'episodes[0].end.bootstrap_value');
    assert.equal(loggedSteps(stateDir).length, 0);
  });
});

test('a runner killed mid-episode loses only its unacknowledged batch; another runner carries on', async () => {
  const stateDir = tempDir();
  await withServer({ stateDir, trainBatch: 96 }, async (server, client) => {
    // 50-step episodes in batches of 32: every batch ends inside an episode.
    const runner = spawn(process.execPath, [BIN, 'runner', '--server', server.url, '--env', 'dataset', '--steps', '100000', '--batch', '32', '--max-steps', '50', '--seed', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    runner.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let acknowledged = 0;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      runner.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const lines = out.split('\n').filter((l) => l.startsWith('{'));
        if (lines.length >= 5) {
          acknowledged = JSON.parse(lines.at(-1)!).steps;
          runner.kill('SIGKILL');
          resolve();
        }
      });
      runner.once('exit', (code) => reject(new Error(`runner exited with ${code} before five batches: ${stderr}`)));
    });
    await new Promise((r) => runner.once('exit', r));
    // What the server holds: whole batches only, at least everything the runner saw acknowledged.
    const events = readExperienceLog(path.join(stateDir, EXPERIENCE_FILE)).events;
    const steps = events.filter((e) => e.type === 'step').length;
    assert.ok(steps >= acknowledged && steps % 32 === 0, `${steps} steps logged, ${acknowledged} acknowledged`);
    assert.equal(events.filter((e) => e.type === 'start').length, events.filter((e) => e.type === 'end').length, 'no half-recorded stretch');
    assert.equal((await client.status()).episodes_open, 0);

    // Another runner comes; the learner goes on from the same buffer.
    const before = await client.status();
    const second = spawn(process.execPath, [BIN, 'runner', '--server', server.url, '--steps', '96', '--batch', '32', '--seed', '6'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    assert.equal(code, 0);
    await server.waitForTraining();
    const after = await client.status();
    assert.equal(after.steps_trained + after.transitions_buffered + after.learner!.dropped_stale_steps, before.steps_trained + before.transitions_buffered + before.learner!.dropped_stale_steps + 96);
    assert.ok(after.policy_version > before.policy_version, 'a full batch of fresh steps was trained on');
  });
});

test('a restarted server resumes its version, weights and queued steps with the learner thread', async () => {
  const stateDir = tempDir();
  const rng = new Rng(7);
  let served: Awaited<ReturnType<PolicyClient['weights']>> = null;
  await withServer({ stateDir, trainBatch: 64 }, async (server, client) => {
    await client.postExperience(batchOf(rng, 0, 2, 32));
    await server.waitForTraining();
    await client.postExperience(batchOf(rng, 1, 2, 32));
    await server.waitForTraining();
    await client.postExperience(batchOf(rng, 2, 1, 20));
    const status = await client.status();
    assert.equal(status.policy_version, 2);
    assert.equal(status.learner?.queued_steps, 20);
    served = await client.weights();
  });
  await withServer({ stateDir, trainBatch: 64 }, async (server, client) => {
    const status = await client.status();
    assert.equal(status.policy_version, 2);
    assert.equal(status.steps_trained, 128);
    assert.equal(status.learner?.queued_steps, 20, 'the steps not yet trained are queued again from the log');
    assert.deepEqual((await client.weights())!.weights, served!.weights);
    // And it learns on: 44 more steps of version 2 complete the next batch.
    await client.postExperience(batchOf(rng, 2, 1, 44));
    await server.waitForTraining();
    assert.equal((await client.status()).policy_version, 3);
    // The checkpoint's history holds every update, those before the restart included.
    const history = readHistory(path.join(stateDir, 'checkpoints', 'update-000003'));
    assert.deepEqual(history.map((h) => h.iteration), [1, 2, 3]);
    assert.deepEqual((await client.weights())!.weights, encodeWeights(loadCheckpoint(path.join(stateDir, 'checkpoints', 'update-000003')).weights));
  });
});

/** Scheduling policy of each thread of a process (field 41 of /proc/PID/task/TID/stat; 5 is SCHED_IDLE). */
function threadPolicies(pid: number | 'self' = 'self'): Map<number, number> {
  const policies = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at field 3.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      policies.set(Number(tid), Number(fields[41 - 3]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return policies;
}

test('--learner-idle puts the learner thread, and only it, under SCHED_IDLE, and /v1/status says so', async (t) => {
  if (process.platform !== 'linux' || !fs.existsSync('/proc/self/task')) return t.skip('per-thread scheduling is Linux only');
  const hasChrt = (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir, 'chrt')));
  if (!hasChrt) return t.skip('util-linux chrt is not installed');
  const SCHED_IDLE = 5;
  const before = [...threadPolicies().values()].filter((p) => p === SCHED_IDLE).length;
  await withServer({ learnerMode: 'thread', learnerIdle: true }, async (_server, client) => {
    const status = await client.status();
    assert.match(status.learner?.priority ?? '', /SCHED_IDLE$/);
    assert.match(status.learner?.priority ?? '', /^niceness \d+/);
    const idle = [...threadPolicies().entries()].filter(([, p]) => p === SCHED_IDLE);
    assert.equal(idle.length, before + 1, 'exactly one more thread runs under SCHED_IDLE');
    assert.notEqual(idle.at(-1)![0], process.pid, 'the main thread keeps its policy');
  });
  await withServer({ learnerMode: 'thread' }, async (_server, client) => {
    assert.doesNotMatch((await client.status()).learner?.priority ?? '', /SCHED_IDLE/, 'SCHED_IDLE only when asked for');
  });
});

/** Child processes of this test process that are learner processes (their pid and command line). */
function learnerChildren(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('learner-process')) found.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

/** A seeded PPO batch of `n` steps, laid out as buildTrajectory does (one environment). */
function seededTrajectory(seed: number, n: number): Trajectory {
  const rng = new Rng(seed);
  const fill = <T extends Float32Array | Uint8Array | Int32Array>(a: T, value: () => number): T => {
    for (let k = 0; k < a.length; k++) a[k] = value();
    return a;
  };
  const dones = fill(new Uint8Array(n), () => (rng.next() < 0.05 ? 1 : 0));
  dones[n - 1] = 1;
  return {
    numSteps: n,
    numEnvs: 1,
    observations: fill(new Float32Array(n * OBSERVATION_SIZE), () => rng.next()),
    actions: fill(new Int32Array(n), () => rng.int(ACTION_COUNT)),
    logProbs: fill(new Float32Array(n), () => -Math.log(ACTION_COUNT)),
    values: fill(new Float32Array(n), () => rng.next() - 0.5),
    rewards: fill(new Float32Array(n), () => rng.next()),
    dones,
    truncatedValues: fill(new Float32Array(n), () => rng.next() - 0.5),
    nextValues: new Float32Array(1),
    masks: fill(new Uint8Array(n * ACTION_COUNT), () => 1),
  };
}

const onLinux = process.platform === 'linux' && fs.existsSync('/proc/self/task');

test('updates in a learner process give the same weights as in a learner thread and on the event loop', async () => {
  const config = serverPpoConfig(64, 11);
  const inline = await PpoBackend.create({ config, reward: serverReward('classic') });
  const thread = await OffloadedPpoBackend.create({ mode: 'thread', config, reward: 'classic' });
  const child = await OffloadedPpoBackend.create({ mode: 'process', config, reward: 'classic' });
  try {
    assert.equal(child.mode, 'process');
    assert.deepEqual(child.weights(), inline.weights(), 'the same seeded initial weights');
    for (const seed of [1, 2]) {
      const expected = await inline.update(seededTrajectory(seed, 64));
      assert.deepEqual(await thread.update(seededTrajectory(seed, 64)), expected);
      assert.deepEqual(await child.update(seededTrajectory(seed, 64)), expected, `update ${seed}: the same statistics`);
    }
    assert.equal(child.version, 2);
    assert.deepEqual(thread.weights(), inline.weights());
    assert.deepEqual(child.weights(), inline.weights(), 'bit for bit the same weights after two updates');
    assert.notDeepEqual(child.weights(), (await PpoBackend.create({ config, reward: serverReward('classic') })).weights(), 'and they did change');
    assert.equal(JSON.parse(child.weightsBody().body).version, 2);
  } finally {
    await thread.close();
    await child.close();
  }
  if (onLinux) assert.deepEqual(learnerChildren(), [], 'close leaves no learner process behind');
});

test('the learner process runs niced and, with --learner-idle and chrt, under SCHED_IDLE in all its threads; /v1/status says so', async (t) => {
  if (!onLinux) return t.skip('per-process scheduling is read from Linux /proc');
  const hasChrt = (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir, 'chrt')));
  const SCHED_IDLE = 5;
  const mine = [...threadPolicies().values()];
  await withServer({ learnerMode: 'process', learnerIdle: true }, async (_server, client) => {
    const status = await client.status();
    assert.equal(status.learner?.mode, 'process');
    assert.equal(status.learner?.state, 'idle');
    assert.equal(status.learner?.error, null);
    assert.match(status.learner?.priority ?? '', /^niceness \d+/);
    const [pid] = learnerChildren();
    assert.ok(pid, 'a learner child process runs');
    assert.ok(os.getPriority(pid) > os.getPriority(), 'niced below the server');
    const policies = [...threadPolicies(pid).values()];
    assert.ok(policies.length > 1, 'a Node process has helper threads');
    if (hasChrt) {
      assert.match(status.learner?.priority ?? '', /SCHED_IDLE/);
      assert.deepEqual(policies.filter((p) => p !== SCHED_IDLE), [], 'every thread of the learner process, V8 helpers included');
    }
    assert.deepEqual([...threadPolicies().values()], mine, "the server's own threads keep their policies");
  });
  await withServer({ learnerMode: 'process' }, async (_server, client) => {
    assert.doesNotMatch((await client.status()).learner?.priority ?? '', /SCHED_IDLE/, 'SCHED_IDLE only when asked for');
    const [pid] = learnerChildren();
    assert.ok(os.getPriority(pid) > os.getPriority(), 'but niced all the same');
    assert.deepEqual([...threadPolicies(pid).values()].filter((p) => p === SCHED_IDLE), []);
  });
});

test('a killed learner process is reported in /v1/status and the log; requests are still answered; close leaves nothing behind', async (t) => {
  if (!onLinux) return t.skip('finds the child through Linux /proc');
  const logs: string[] = [];
  await withServer({ learnerMode: 'process', trainBatch: 64, log: (m) => logs.push(m) }, async (server, client) => {
    const [pid] = learnerChildren();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    let status = await client.status();
    for (let k = 0; k < 100 && status.learner?.state !== 'failed'; k++) {
      await new Promise((r) => setTimeout(r, 20));
      status = await client.status();
    }
    assert.equal(status.learner?.state, 'failed');
    assert.match(status.learner?.error ?? '', new RegExp(`learner process ${pid} exited on signal SIGKILL`));
    // Decisions come from the server's own copy of the weights: they never wait for the learner.
    const rng = new Rng(5);
    const id = await client.startEpisode({ trainingEnabled: true });
    assert.ok(Number.isInteger(await client.getAction(id, randomObservation(rng))));
    // Full batches cannot be trained on: said once, experience kept, version unchanged.
    await client.postExperience(batchOf(rng, 0, 2, 40));
    await client.postExperience(batchOf(rng, 0, 1, 40));
    await server.waitForTraining();
    status = await client.status();
    assert.equal(status.policy_version, 0);
    assert.ok(status.transitions_buffered >= 120, `experience kept (${status.transitions_buffered})`);
    assert.equal(logs.filter((m) => /training failed.*exited on signal SIGKILL/.test(m)).length, 1, logs.join('\n'));
  });
  assert.deepEqual(learnerChildren(), []);
});

test('close stops the learner process; a server killed outright takes its learner with it', async (t) => {
  if (!onLinux) return t.skip('finds processes through Linux /proc');
  await withServer({ learnerMode: 'process' }, async () => {
    assert.equal(learnerChildren().length, 1);
  });
  assert.deepEqual(learnerChildren(), [], 'no learner process after close');
  // A server process killed with SIGKILL cannot stop its child: the child sees its IPC channel close.
  const server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--state-dir', tempDir(), '--learner', 'process'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (/listening on/.test(out)) resolve();
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  assert.match(out, /learner process/);
  const grandchildren = () =>
    fs.readdirSync('/proc').filter((e) => {
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === server.pid;
      } catch {
        return false;
      }
    });
  const learner = Number(grandchildren()[0]);
  assert.ok(learner > 0, 'the server started a learner process');
  server.kill('SIGKILL');
  let alive = true;
  for (let k = 0; k < 250 && alive; k++) {
    await new Promise((r) => setTimeout(r, 20));
    alive = fs.existsSync(`/proc/${learner}`) && !/\) Z /.test(fs.readFileSync(`/proc/${learner}/stat`, 'utf8'));
  }
  assert.equal(alive, false, `learner process ${learner} exited with its server`);
});
