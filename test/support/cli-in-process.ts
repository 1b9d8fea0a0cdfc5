/**
 * Runs the CLI's main() in the test's own process and captures what it prints: for commands
 * quick enough that a child process would cost more than the command (no server, no long run).
 */
import { main } from '../../src/cli';

export interface InProcessCliResult {
  code: number;
  /** console.log lines, joined by newlines. */
  out: string;
  /** console.error lines, joined by newlines. */
  err: string;
}

export async function runCliInProcess(args: string[]): Promise<InProcessCliResult> {
  const lines: string[] = [];
  const errors: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void errors.push(parts.join(' '));
  try {
    return { code: await main(args), out: lines.join('\n'), err: errors.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
