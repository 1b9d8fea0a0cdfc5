import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../src/random';
import { ACTION_COUNT, type Observation } from '../src/space';
import { PolicyClient, PolicyServerError } from '../src/server/client';
import { loadCheckpoint, readCheckpointMeta, saveTrainResult } from '../src/agent/checkpoint';
import { readHistory } from '../src/agent/history';
import { ppoConfig, train } from '../src/agent/ppo';
import { readExperienceLog } from '../src/server/experience-log';
import { encodeWeights } from '../src/server/weights-codec';
import { PolicyServer, EXPERIENCE_FILE } from '../src/server/server';

const quiet = () => {};

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'policy-server-test-'));
}

function randomObservation(rng: Rng): Observation {
  return { replicas: 1 + rng.int(9), cpuMillis: 100 * (1 + rng.int(9)), heapMB: 100 * (1 + rng.int(9)), usedCpu: rng.next(), usedRam: 2 * rng.next() };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function withServer(options: Partial<Parameters<typeof PolicyServer.start>[0]>, body: (server: PolicyServer) => Promise<void>): Promise<void> {
  const server = await PolicyServer.start({ stateDir: tempDir(), port: 0, log: quiet, ...options });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

const OBS: Observation = { replicas: 3, cpuMillis: 500, heapMB: 400, usedCpu: 0.3, usedRam: 0.5 };

test('protocol round trip: spaces, episode, action, log-action, returns, end, health, metrics', async () => {
  const dir = tempDir();
  await withServer({ stateDir: dir }, async (server) => {
    const client = new PolicyClient(server.url);
    const spaces = await client.handshake();
    assert.equal(spaces.action.n, 7);
    assert.deepEqual(spaces.observation.fields, ['replicas', 'cpuMillis', 'heapMB', 'usedCpu', 'usedRam']);

    const id = await client.startEpisode({ trainingEnabled: true });
    const action = await client.getAction(id, OBS);
    assert.ok(Number.isInteger(action) && action >= 0 && action <= 6, `action ${action}`);
    await client.logReturns(id, 0.5, { note: 'first' });
    await client.logReturns(id, 0.25);
    await client.logAction(id, OBS, 2);
    await client.logReturns(id, -1);
    const end = await client.endEpisode(id, OBS);
    assert.deepEqual(end, { episode_id: id, steps: 2, total_reward: -0.25 });

    // The log holds what was acknowledged, in order, with the rewards credited to their actions.
    const { events } = readExperienceLog(path.join(dir, EXPERIENCE_FILE));
    assert.deepEqual(
      events.map((e) => e.type),
      ['start', 'step', 'reward', 'reward', 'step', 'reward', 'end'],
    );
    const logged = events.filter((e) => e.type === 'step');
    assert.equal(logged[0].type === 'step' && logged[0].action, action);
    assert.equal(logged[1].type === 'step' && logged[1].logged, true);

    assert.deepEqual(await client.health(), { status: 'ok', policy_version: 0 });
    const metrics = await (await fetch(server.url + '/metrics')).text();
    for (const name of ['policy_server_requests_total', 'policy_server_request_duration_seconds_bucket', 'policy_server_episodes_started_total', 'policy_server_training_updates_total', 'policy_server_experience_events_total']) {
      assert.match(metrics, new RegExp(`^${name}`, 'm'), name);
    }
    assert.match(metrics, /policy_server_experience_events_total 7$/m);
    assert.match(metrics, /policy_server_requests_total\{route="POST \/v1\/episodes\/:id\/action",status="200"\} 1$/m);
  });
});

test('every invalid request gets a 4xx naming what was wrong', async () => {
  await withServer({ bodyLimit: 2048 }, async (server) => {
    const u = server.url;
    const { body: started } = await post(`${u}/v1/episodes`, { training_enabled: true });
    const id = started.episode_id as string;
    const action = `${u}/v1/episodes/${id}/action`;
    const cases: { name: string; url: string; body: unknown; status: number; field: string; headers?: Record<string, string> }[] = [
      { name: 'training_enabled not boolean', url: `${u}/v1/episodes`, body: { training_enabled: 'yes' }, status: 400, field: 'training_enabled' },
      { name: 'unknown field', url: `${u}/v1/episodes`, body: { training: true }, status: 400, field: 'training' },
      { name: 'body not an object', url: action, body: [1, 2], status: 400, field: 'body' },
      { name: 'missing observation', url: action, body: {}, status: 400, field: 'observation' },
      { name: 'replicas off the grid', url: action, body: { observation: { ...OBS, replicas: 10 } }, status: 400, field: 'observation.replicas' },
      { name: 'replicas not an integer', url: action, body: { observation: { ...OBS, replicas: 2.5 } }, status: 400, field: 'observation.replicas' },
      { name: 'cpu between levels', url: action, body: { observation: { ...OBS, cpuMillis: 450 } }, status: 400, field: 'observation.cpuMillis' },
      { name: 'heap as a string', url: action, body: { observation: { ...OBS, heapMB: '400' } }, status: 400, field: 'observation.heapMB' },
      { name: 'usedCpu negative', url: action, body: { observation: { ...OBS, usedCpu: -0.1 } }, status: 400, field: 'observation.usedCpu' },
      { name: 'usedRam missing', url: action, body: { observation: { ...OBS, usedRam: undefined } }, status: 400, field: 'observation.usedRam' },
      { name: 'usedRam too large', url: action, body: { observation: { ...OBS, usedRam: 1e9 } }, status: 400, field: 'observation.usedRam' },
      { name: 'non-finite number (1e999 parses to Infinity)', url: action, body: '{"observation":{"replicas":3,"cpuMillis":500,"heapMB":400,"usedCpu":1e999,"usedRam":0.5}}', status: 400, field: 'observation.usedCpu' },
      { name: 'extra observation field', url: action, body: { observation: { ...OBS, load: 3 } }, status: 400, field: 'observation.load' },
      { name: 'log-action with action 7', url: `${u}/v1/episodes/${id}/log-action`, body: { observation: OBS, action: 7 }, status: 400, field: 'action' },
      { name: 'log-action with action 1.5', url: `${u}/v1/episodes/${id}/log-action`, body: { observation: OBS, action: 1.5 }, status: 400, field: 'action' },
      { name: 'reward before any action', url: `${u}/v1/episodes/${id}/returns`, body: { reward: 1 }, status: 409, field: 'episode_id' },
      { name: 'reward not a number', url: `${u}/v1/episodes/${id}/returns`, body: { reward: 'high' }, status: 400, field: 'reward' },
      { name: 'reward too large', url: `${u}/v1/episodes/${id}/returns`, body: { reward: 1e12 }, status: 400, field: 'reward' },
      { name: 'info not an object', url: `${u}/v1/episodes/${id}/returns`, body: { reward: 1, info: 'x' }, status: 400, field: 'info' },
      { name: 'end with terminated not boolean', url: `${u}/v1/episodes/${id}/end`, body: { observation: OBS, terminated: 1 }, status: 400, field: 'terminated' },
      { name: 'invalid JSON', url: action, body: '{"observation": ', status: 400, field: 'body' },
      { name: 'body too large', url: action, body: { observation: OBS, padding: 'x'.repeat(4096) }, status: 413, field: 'body' },
      { name: 'wrong content type', url: action, body: 'observation=1', status: 415, field: 'content-type', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { name: 'episode id not a UUID', url: `${u}/v1/episodes/42/action`, body: { observation: OBS }, status: 400, field: 'episode_id' },
      { name: 'unknown episode', url: `${u}/v1/episodes/00000000-0000-4000-8000-000000000000/action`, body: { observation: OBS }, status: 404, field: 'episode_id' },
      { name: 'unknown endpoint', url: `${u}/v1/episodes/${id}/jump`, body: {}, status: 404, field: 'path' },
    ];
    for (const c of cases) {
      const res = await post(c.url, c.body, c.headers);
      assert.equal(res.status, c.status, `${c.name}: status ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.field, c.field, `${c.name}: ${JSON.stringify(res.body)}`);
      assert.ok(res.body.error.message.length > 10, c.name);
    }
    const wrongMethod = await fetch(`${u}/v1/episodes`, { method: 'GET' });
    assert.equal(wrongMethod.status, 405);

    // The episode is unharmed by the bad requests; once ended it answers 409.
    assert.equal((await post(action, { observation: OBS })).status, 200);
    assert.equal((await post(`${u}/v1/episodes/${id}/end`, { observation: OBS })).status, 200);
    const late = await post(action, { observation: OBS });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'episode_ended');
    assert.equal((await post(`${u}/v1/episodes/${id}/returns`, { reward: 1 })).status, 409);
  });
});

test('many episodes in parallel keep their own state', async () => {
  await withServer({ trainBatch: 100_000 }, async (server) => {
    const client = new PolicyClient(server.url);
    const EPISODES = 32;
    const STEPS = 15;
    const results = await Promise.all(
      Array.from({ length: EPISODES }, async (_, e) => {
        const rng = new Rng(e);
        const id = await client.startEpisode();
        let expected = 0;
        for (let s = 0; s < STEPS; s++) {
          const obs = randomObservation(rng);
          const action = await client.getAction(id, obs);
          assert.ok(action >= 0 && action <= 6);
          const reward = e + s / 100;
          expected += reward;
          await client.logReturns(id, reward);
        }
        const end = await client.endEpisode(id, randomObservation(rng));
        return { end, expected };
      }),
    );
    for (const { end, expected } of results) {
      assert.equal(end.steps, STEPS);
      assert.ok(Math.abs(end.total_reward - expected) < 1e-9, `${end.total_reward} vs ${expected}`);
    }
    const status = await client.status();
    assert.equal(status.episodes_open, 0);
    assert.equal(status.transitions_buffered, EPISODES * STEPS);
    // Two requests of one episode at once: the second is refused rather than interleaved.
    const id = await client.startEpisode();
    const [a, b] = await Promise.all([post(`${server.url}/v1/episodes/${id}/action`, { observation: OBS }), post(`${server.url}/v1/episodes/${id}/action`, { observation: OBS })]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
  });
});

test('training-enabled episodes lead to PPO updates, new weights and checkpoints', async () => {
  const dir = tempDir();
  await withServer({ stateDir: dir, trainBatch: 16, keepCheckpoints: 2 }, async (server) => {
    const client = new PolicyClient(server.url);
    const before = await client.weights();
    assert.equal(before!.version, 0);
    const rng = new Rng(3);
    // Training-disabled experience does not count towards a batch.
    const idle = await client.startEpisode({ trainingEnabled: false });
    for (let s = 0; s < 20; s++) {
      await client.getAction(idle, randomObservation(rng));
      await client.logReturns(idle, 1);
    }
    await client.endEpisode(idle, randomObservation(rng));
    await server.waitForTraining();
    assert.equal((await client.status()).policy_version, 0);

    const id = await client.startEpisode({ trainingEnabled: true });
    for (let s = 0; s < 50; s++) {
      const obs = randomObservation(rng);
      const action = await client.getAction(id, obs);
      await client.logReturns(id, action === 1 ? 1 : 0);
      // Updates run in the learner thread: wait for each, as a client acting with the newest
      // policy would, so that no step goes stale and the counts below are exact.
      await server.waitForTraining();
    }
    await client.endEpisode(id, randomObservation(rng));
    await server.waitForTraining();
    const status = await client.status();
    assert.equal(status.learner?.dropped_stale_steps, 0);
    // 50 transitions: three batches of 16, 2 left over.
    assert.equal(status.policy_version, 3);
    assert.equal(status.steps_trained, 48);
    assert.equal(status.transitions_buffered, 2);
    const after = await client.weights(0);
    assert.ok(after, 'weights changed, so no 304');
    assert.equal(after.version, 3);
    assert.notDeepEqual(after.weights.actor.layers[0].kernel, before!.weights.actor.layers[0].kernel);
    assert.equal(await client.weights(3), null, 'unchanged weights answer 304');

    const checkpoints = fs.readdirSync(path.join(dir, 'checkpoints')).sort();
    assert.deepEqual(checkpoints, ['update-000002', 'update-000003'], 'only the newest two are kept');
    // Each is a project checkpoint (loadable by every command) recording where the server stood.
    const latest = path.join(dir, 'checkpoints', 'update-000003');
    const loaded = loadCheckpoint(latest);
    assert.equal(loaded.meta.metrics.policyVersion, 3);
    assert.equal(loaded.meta.metrics.stepsTrained, 48);
    assert.ok(Number.isFinite(loaded.meta.metrics.policyLoss));
    assert.equal(loaded.meta.parent, path.join(dir, 'checkpoints', 'update-000002'));
    assert.deepEqual(encodeWeights(loaded.weights), after.weights);

    // A new server started from that checkpoint acts with exactly those weights.
    await withServer({ checkpoint: latest }, async (other) => {
      const served = await new PolicyClient(other.url).weights();
      assert.equal(served!.version, 0);
      assert.deepEqual(served!.weights, after.weights);
    });
    const metrics = await (await fetch(server.url + '/metrics')).text();
    assert.match(metrics, /^policy_server_training_updates_total 3$/m);
  });
});

test('the server learns from the reward of the checkpoint it starts from, records it and its history, and keeps it on restart', async () => {
  // Not the default reward, so that a checkpoint falling back to it shows.
  const trained = await train(ppoConfig({ seed: 4, totalSteps: 1024 }), { reward: 'total-throughput' });
  const start = await saveTrainResult(path.join(tempDir(), 'offline'), trained);
  const dir = tempDir();
  await withServer({ stateDir: dir, checkpoint: start, trainBatch: 16 }, async (server) => {
    const client = new PolicyClient(server.url);
    assert.equal((await client.status()).reward, 'total-throughput');
    const rng = new Rng(5);
    // One episode of 10 steps that ends, then 7 completed steps of an open one: one batch of 16.
    const ended = await client.startEpisode({ trainingEnabled: true });
    for (let s = 0; s < 10; s++) {
      await client.getAction(ended, randomObservation(rng));
      await client.logReturns(ended, 0.5);
    }
    await client.endEpisode(ended, randomObservation(rng));
    const open = await client.startEpisode({ trainingEnabled: true });
    for (let s = 0; s < 8; s++) {
      await client.getAction(open, randomObservation(rng));
      await client.logReturns(open, 1);
    }
    await server.waitForTraining();
    assert.equal((await client.status()).policy_version, 1);
  });
  const update = path.join(dir, 'checkpoints', 'update-000001');
  const meta = readCheckpointMeta(update);
  assert.equal(meta.reward.name, 'total-throughput');
  assert.equal(JSON.parse(fs.readFileSync(path.join(update, 'meta.json'), 'utf8')).config.reward, undefined);
  assert.equal(meta.preset, 'policy-server');
  assert.equal(meta.parent, start);
  const history = readHistory(update);
  assert.equal(history.length, 1);
  assert.deepEqual([history[0].iteration, history[0].env_steps, history[0].episodes, history[0].episodic_return_mean], [1, 16, 1, 5]);
  assert.ok(Number.isFinite(history[0].policy_loss) && Number.isFinite(history[0].approx_kl));
  // A restart keeps the state dir's reward: its experience log holds rewards computed with it.
  await assert.rejects(PolicyServer.start({ stateDir: dir, port: 0, log: quiet, reward: 'classic' }), /cannot switch to classic/);
});

/** `rl-autoscaler serve` in a child process; resolves once it listens. */
function spawnServer(stateDir: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const bin = path.join(__dirname, '..', 'bin', 'rl-autoscaler.js');
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--state-dir', stateDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) resolve({ child, url: m[1], output: () => output });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

for (const durability of ['machine', 'process']) {
test(`a server killed with SIGKILL mid-stream restarts from its state dir with every acknowledged step kept (--durability ${durability})`, async () => {
  const dir = tempDir();
  const first = await spawnServer(dir, ['--train-batch', '64', '--durability', durability]);
  assert.match(first.output(), new RegExp(`durability ${durability}\\)`));
  const client = new PolicyClient(first.url, { timeoutMs: 5000 });
  const CLIENTS = 12;
  // What each episode had acknowledged: actions and rewards.
  const acked = new Map<string, { steps: number; rewards: number; lastAction: number }>();
  let killed = false;
  const workers = Array.from({ length: CLIENTS }, async (_, k) => {
    const rng = new Rng(100 + k);
    const id = await client.startEpisode({ trainingEnabled: true });
    const record = { steps: 0, rewards: 0, lastAction: -1 };
    acked.set(id, record);
    try {
      for (;;) {
        record.lastAction = await client.getAction(id, randomObservation(rng));
        record.steps++;
        await client.logReturns(id, rng.next());
        record.rewards++;
      }
    } catch (err) {
      assert.ok(killed && err instanceof PolicyServerError, `unexpected failure: ${err}`);
    }
  });
  // Let updates and checkpoints happen, then kill it in the middle of the stream.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const steps = [...acked.values()].reduce((s, r) => s + r.steps, 0);
    if (steps > 300 && fs.existsSync(path.join(dir, 'checkpoints', 'update-000002'))) break;
  }
  killed = true;
  first.child.kill('SIGKILL');
  await Promise.all(workers);
  const ackedSteps = [...acked.values()].reduce((s, r) => s + r.steps, 0);
  assert.ok(ackedSteps > 300, `only ${ackedSteps} steps before the kill`);

  const second = await spawnServer(dir, ['--train-batch', '64', '--durability', durability]);
  try {
    const { events } = readExperienceLog(path.join(dir, EXPERIENCE_FILE));
    for (const [id, record] of acked) {
      const mine = events.filter((e) => e.episode === id);
      const steps = mine.filter((e) => e.type === 'step').length;
      const rewards = mine.filter((e) => e.type === 'reward').length;
      // Everything acknowledged is there; at most the one request in flight at the kill is extra.
      assert.ok(steps >= record.steps && steps <= record.steps + 1, `episode ${id}: ${steps} steps logged, ${record.steps} acknowledged`);
      assert.ok(rewards >= record.rewards && rewards <= record.rewards + 1, `episode ${id}: ${rewards} rewards logged, ${record.rewards} acknowledged`);
    }
    const client2 = new PolicyClient(second.url);
    // Replayed experience may complete a batch: wait until the update it starts is checkpointed.
    let status = await client2.status();
    while (status.training || status.transitions_buffered >= 64) {
      await new Promise((r) => setTimeout(r, 50));
      status = await client2.status();
    }
    assert.match(second.output(), /resuming from .*update-\d{6}/);
    assert.ok(status.policy_version >= 2, `policy version ${status.policy_version}`);
    assert.equal(status.episodes_open, CLIENTS);
    // Each open episode has one pending step; all the others are transitions, trained, waiting,
    // or dropped as stale (steps acted while an update ran can fall behind by two versions).
    const logged = events.filter((e) => e.type === 'step').length;
    assert.equal(status.steps_trained + status.transitions_buffered + status.learner!.dropped_stale_steps, logged - CLIENTS);
    assert.equal(status.steps_trained, status.policy_version * 64);
    // The clients' episodes carry on where they were.
    for (const id of acked.keys()) {
      const mine = events.filter((e) => e.episode === id);
      const loggedSteps = mine.filter((e) => e.type === 'step').length;
      const loggedReward = mine.reduce((sum, e) => sum + (e.type === 'reward' ? e.reward : 0), 0);
      // The replayed episode has its last action pending, so a reward is accepted whether or not
      // that action had one already before the kill (rewards add up until the next action).
      assert.ok(loggedSteps >= 1, `episode ${id} has no logged action`);
      await client2.logReturns(id, 0.5);
      const action = await client2.getAction(id, OBS);
      assert.ok(Number.isInteger(action) && action >= 0 && action < ACTION_COUNT, `action ${action} is not one of the ${ACTION_COUNT} action ids`);
      // The end counts every logged action plus the new one, and every logged reward plus the new one.
      const end = await client2.endEpisode(id, OBS);
      assert.equal(end.steps, loggedSteps + 1, `episode ${id}`);
      assert.ok(Math.abs(end.total_reward - (loggedReward + 0.5)) < 1e-9, `episode ${id}: total reward ${end.total_reward}, logged ${loggedReward} + 0.5`);
    }
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }
});
}

test('with a token every request needs it; a public address needs a token', async () => {
  const token = 'a-long-enough-secret-token';
  await withServer({ token }, async (server) => {
    for (const p of ['/healthz', '/metrics', '/v1/spaces', '/v1/weights']) {
      const res = await fetch(server.url + p);
      assert.equal(res.status, 401, p);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
    assert.equal((await post(`${server.url}/v1/episodes`, {})).status, 401);
    const wrong = await post(`${server.url}/v1/episodes`, {}, { authorization: `Bearer ${token}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.field, 'authorization');
    assert.equal((await post(`${server.url}/v1/episodes`, {}, { authorization: token })).status, 401, 'the Bearer scheme is required');
    const client = new PolicyClient(server.url, { token });
    await client.handshake();
    const id = await client.startEpisode();
    assert.ok((await client.getAction(id, OBS)) >= 0);
    await assert.rejects(new PolicyClient(server.url).startEpisode(), (err: PolicyServerError) => err.status === 401);
  });
  await assert.rejects(PolicyServer.start({ stateDir: tempDir(), host: '0.0.0.0', port: 0, log: quiet }), /without a token/);
  await assert.rejects(PolicyServer.start({ stateDir: tempDir(), port: 0, token: 'short', log: quiet }), /at least 16/);
});

test('local inference mode takes the same actions as remote for the same weights, and follows updates', async () => {
  await withServer({ trainBatch: 16 }, async (server) => {
    const remote = new PolicyClient(server.url, { inferenceMode: 'remote' });
    const local = new PolicyClient(server.url, { inferenceMode: 'local', updateIntervalMs: 0 });
    await local.handshake();
    assert.equal(local.localPolicyVersion, 0);
    const compare = async (seed: number) => {
      const rng = new Rng(seed);
      const r = await remote.startEpisode({ trainingEnabled: false });
      const l = await local.startEpisode({ trainingEnabled: false });
      const remoteActions: number[] = [];
      const localActions: number[] = [];
      for (let s = 0; s < 60; s++) {
        const obs = randomObservation(rng);
        remoteActions.push(await remote.getAction(r, obs));
        localActions.push(await local.getAction(l, obs));
      }
      assert.deepEqual(localActions, remoteActions);
      assert.ok(new Set(remoteActions).size > 1, 'the policy is not constant, so the comparison means something');
      await remote.endEpisode(r, OBS);
      await local.endEpisode(l, OBS);
    };
    await compare(1);
    // Train, then compare again with the new weights.
    const trainer = new PolicyClient(server.url);
    const id = await trainer.startEpisode({ trainingEnabled: true });
    const rng = new Rng(9);
    for (let s = 0; s < 33; s++) {
      await trainer.getAction(id, randomObservation(rng));
      await trainer.logReturns(id, s % 3 === 0 ? 1 : -1);
    }
    await server.waitForTraining();
    assert.equal(server.policyVersion, 2);
    await local.refreshWeights(true);
    assert.equal(local.localPolicyVersion, 2);
    await compare(2);
    // Locally chosen actions reach the server as logged actions.
    const status = await remote.status();
    assert.ok(status.experience_events > 0);
  });
});

test('serve refuses an unknown --durability by name, and /v1/status says which durability a server has', async () => {
  const bin = path.join(__dirname, '..', 'bin', 'rl-autoscaler.js');
  const refused = spawnSync(process.execPath, [bin, 'serve', '--port', '0', '--state-dir', tempDir(), '--durability', 'disk'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /--durability must be process or machine, got "disk"/);
  await withServer({}, async (server) => {
    assert.equal((await new PolicyClient(server.url).status()).durability, 'machine');
  });
  await withServer({ durability: 'process' }, async (server) => {
    assert.equal((await new PolicyClient(server.url).status()).durability, 'process');
  });
});
