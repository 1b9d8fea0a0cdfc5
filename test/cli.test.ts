/**
 * The CLI as users type it: `npx rl-autoscaler ...` from the project root (npm starts the bin
 * through a link without `.js`), `npm exec`, a global install's symlink, and `node bin/...`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../src/commands';
import { BASELINE_NAMES } from '../src/agent/baselines';

const ROOT = path.resolve(__dirname, '..');

function run(command: string, args: string[], cwd = ROOT) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the rl-autoscaler command', () => {
  it('npx rl-autoscaler --help lists every command and exits 0', () => {
    const r = run('npx', ['rl-autoscaler', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, 'm'), `${c.name} missing from the help`);
  });

  it('npx rl-autoscaler baselines --start row:558 --json prints the returns of every baseline', () => {
    const r = run('npx', ['rl-autoscaler', 'baselines', '--start', 'row:558', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { start: string; returns: Record<string, number> };
    assert.equal(out.start, 'row:558');
    assert.deepEqual(Object.keys(out.returns).sort(), [...BASELINE_NAMES].sort());
    for (const name of BASELINE_NAMES) assert.ok(Number.isFinite(out.returns[name]), `${name}: ${out.returns[name]}`);
    assert.ok(out.returns.optimum >= Math.max(...BASELINE_NAMES.map((n) => out.returns[n])), 'the optimum is beaten');
  });

  it('an unknown command exits 2 and says which', () => {
    const r = run('npx', ['rl-autoscaler', 'frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  it('a copy without its npm dependencies or the provisioning script says to run npm ci', () => {
    // Outside the checkout no node_modules is found on the way up, as in a fresh clone.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rl-autoscaler-bare-'));
    try {
      cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
      const r = run(process.execPath, ['bin/rl-autoscaler.js', '--help'], dir);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /npm dependencies are not installed; run `npm ci` in /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no command prints the help and exits 2', () => {
    const r = run(process.execPath, ['bin/rl-autoscaler.js']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: rl-autoscaler <command>/);
  });

  it('every subcommand answers --help with its usage and options, and exits 0', () => {
    for (const c of COMMANDS) {
      const r = run(process.execPath, ['bin/rl-autoscaler.js', c.name, '--help']);
      assert.equal(r.code, 0, `${c.name} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: rl-autoscaler ${c.name} \\[options\\]`), c.name);
      for (const option of Object.keys(c.options)) assert.match(r.stdout, new RegExp(`^  --${option}\\b`, 'm'), `${c.name} --help misses --${option}`);
    }
  });

  it('an unknown option exits 2 and points to --help', () => {
    const r = run(process.execPath, ['bin/rl-autoscaler.js', 'baselines', '--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--bogus'/);
    assert.match(r.stderr, /rl-autoscaler baselines --help/);
  });

  it('runs through npm exec and through a symlink named rl-autoscaler, as a global install has', () => {
    const viaExec = run('npm', ['exec', '--', 'rl-autoscaler', 'simulator', '--help']);
    assert.equal(viaExec.code, 0, viaExec.stderr);
    assert.match(viaExec.stdout, /--pod-start-ms N/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rl-bin-'));
    try {
      const link = path.join(dir, 'rl-autoscaler');
      symlinkSync(path.join(ROOT, 'bin', 'rl-autoscaler.js'), link);
      const viaLink = run(link, ['evaluate', '--help'], dir);
      assert.equal(viaLink.code, 0, viaLink.stderr);
      assert.match(viaLink.stdout, /--checkpoint DIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
