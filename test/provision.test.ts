/**
 * scripts/provision.js, which `npm start`, `npm test`, `npm run notebooks` and CI run first: it
 * must stop at once, with one message naming the packages, where it cannot install them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const SCRIPT = path.resolve(__dirname, '..', 'scripts', 'provision.js');

function provision(task: string, env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [SCRIPT, task], { encoding: 'utf8', env, timeout: 60_000 });
}

test('without apt-get it names the missing packages in one message and exits 1', () => {
  // A PATH holding only node: prometheus and apt-get are both out of sight.
  const bin = mkdtempSync(path.join(os.tmpdir(), 'provision-path-'));
  try {
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = provision('start', { PATH: bin, HOME: os.tmpdir() });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /prometheus/);
    assert.match(lines[0], /no apt-get/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

const isRoot = process.getuid?.() === 0;

test('as a user without root or password-less sudo it prints the command to run and exits 1', { skip: isRoot ? false : 'needs root to start a process as another user' }, () => {
  // apt-get is there, prometheus and sudo are not, and the process runs as nobody.
  const bin = mkdtempSync(path.join(os.tmpdir(), 'provision-path-'));
  try {
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync('/usr/bin/apt-get', path.join(bin, 'apt-get'));
    // A copy of the script the unprivileged user can read, wherever the project lives.
    const script = path.join(bin, 'provision.js');
    copyFileSync(SCRIPT, script);
    chmodSync(bin, 0o755);
    chmodSync(script, 0o644);
    const r = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script, 'start'], { encoding: 'utf8', env: { PATH: bin, HOME: '/tmp' }, timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /takes root/);
    assert.match(r.stderr, /apt-get install -y --no-install-recommends prometheus/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('an unknown task is refused with the list of tasks', () => {
  const r = provision('deploy', process.env);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /usage: node scripts\/provision\.js start\|notebooks\|test/);
});

test('on this machine every package of the test task is present: a second run installs nothing', () => {
  const r = provision('test', process.env);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /installing/);
});
