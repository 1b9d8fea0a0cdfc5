/** Runs `rl-autoscaler` as users do, in a child process, so the test's own event loop stays free. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The child is SIGKILLed after this long, so a hung command fails its test instead of the suite. */
  timeoutMs?: number;
  /** Called with each line of stdout as it arrives, and a way to SIGKILL the child. */
  onLine?: (line: string, kill: () => void) => void;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const { timeoutMs = 120_000, onLine } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/rl-autoscaler.js', ...args], { cwd: ROOT });
    const kill = () => child.kill('SIGKILL');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      if (onLine) for (const line of text.split('\n')) if (line) onLine(line, kill);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(kill, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
