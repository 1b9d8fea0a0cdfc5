#!/usr/bin/env node
/**
 * Prepares this machine for a task: the Debian packages it needs, then the locked npm dependencies.
 *
 *   node scripts/provision.js start       # npm start: Prometheus (the live phase)
 *   node scripts/provision.js test        # npm test: Prometheus, Jupyter, Chromium, kubectl
 *   node scripts/provision.js notebooks   # npm run notebooks: Jupyter and Prometheus
 *
 * Missing Debian packages are installed with apt-get (as root, or through `sudo -n`), announced in
 * one line, their output kept in .tmp/apt-get.log. Where that cannot work (no apt-get, not root
 * and no password-less sudo) it stops at once with the packages and the command to run, instead of
 * letting a task fail halfway. The npm dependencies are installed (`npm ci`) when node_modules is
 * missing or older than package-lock.json. Plain JavaScript with no dependencies: it runs before
 * anything is installed.
 */
'use strict';
const { existsSync, mkdirSync, statSync, writeFileSync, accessSync, constants } = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** What each Debian package gives the project, and how to tell that it is already there. */
const PACKAGES = {
  prometheus: { why: 'a real Prometheus server for live runs', present: () => onPath('prometheus') },
  'jupyter-nbconvert': { why: 'executes the notebooks', present: () => onPath('jupyter-nbconvert') },
  'python3-ipykernel': { why: "Jupyter's kernel machinery", present: () => pythonHas('ipykernel') },
  chromium: { why: 'renders plots to PNG', present: () => onPath('chromium') },
  'kubernetes-client': { why: 'kubectl against the cluster simulator', present: () => existsSync('/usr/bin/kubectl') },
};

/** The packages each task needs. */
const TASKS = {
  start: ['prometheus'],
  notebooks: ['prometheus', 'jupyter-nbconvert', 'python3-ipykernel'],
  test: ['prometheus', 'jupyter-nbconvert', 'python3-ipykernel', 'chromium', 'kubernetes-client'],
};

function onPath(name) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir || '.', name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Jupyter on Debian runs /usr/bin/python3 (the `python3` on PATH may be another one). */
function pythonHas(module) {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  return spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** The command prefix that runs apt-get with root rights, or null when there is none. */
function rootPrefix() {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return [];
  if (onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return null;
}

function installDebianPackages(task) {
  const missing = TASKS[task].filter((name) => !PACKAGES[name].present());
  if (missing.length === 0) return;
  const list = missing.join(' ');
  const command = `apt-get update && apt-get install -y --no-install-recommends ${list}`;
  const what = missing.map((name) => `${name} (${PACKAGES[name].why})`).join(', ');
  if (!onPath('apt-get')) {
    fail(`rl-autoscaler: \`npm ${task === 'start' || task === 'test' ? task : `run ${task}`}\` needs ${what}, and this machine has no apt-get. Install the equivalent packages with your system's package manager, then run it again.`);
  }
  const prefix = rootPrefix();
  if (prefix === null) {
    fail(`rl-autoscaler: needs the Debian packages ${list}, and installing them takes root. Run:\n  sudo sh -c '${command}'\nthen run the command again.`);
  }
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const logFile = path.join(ROOT, '.tmp', 'apt-get.log');
  process.stderr.write(`rl-autoscaler: installing Debian packages: ${what} (apt-get; log in .tmp/apt-get.log)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const steps = [
    ['apt-get', 'update', '-q'],
    ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing],
  ];
  let log = '';
  for (const step of steps) {
    const argv = [...prefix, ...step];
    const result = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', maxBuffer: 256 << 20 });
    log += `$ ${argv.join(' ')}\n${result.stdout || ''}${result.stderr || ''}\n`;
    writeFileSync(logFile, log);
    if (result.status !== 0) {
      const tail = log.trim().split('\n').slice(-15).join('\n');
      fail(`rl-autoscaler: \`${argv.join(' ')}\` failed (exit ${result.status}); the last lines of .tmp/apt-get.log:\n${tail}`);
    }
  }
  const still = missing.filter((name) => !PACKAGES[name].present());
  if (still.length > 0) fail(`rl-autoscaler: apt-get installed ${list}, yet ${still.join(', ')} is still not usable; see .tmp/apt-get.log`);
}

/** `npm ci` when node_modules is missing or older than the lock file. */
function installNpmDependencies() {
  const installed = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  process.stderr.write('rl-autoscaler: installing the locked npm dependencies (npm ci)\n');
  // npm's output goes to stderr: the command that asked for it may be writing JSON to stdout.
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) fail(`rl-autoscaler: npm ci failed (exit ${result.status})`);
}

function main() {
  const task = process.argv[2];
  if (!Object.prototype.hasOwnProperty.call(TASKS, task)) {
    fail(`usage: node scripts/provision.js ${Object.keys(TASKS).join('|')}`);
  }
  installDebianPackages(task);
  installNpmDependencies();
}

if (require.main === module) main();
module.exports = { installNpmDependencies };
