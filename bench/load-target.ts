/**
 * The local test target in a process of its own, for bench/load.ts: the target's event loop then
 * never shares time with the load generator's. Prints `listening URL` once it listens; reads
 * commands on standard input, one a line: `stall MS` (answered `stalled`), `count` (answered
 * `count N`, the requests received so far) and `cpu` (answered `cpu US`, the process's CPU time,
 * user + system, in microseconds). Exits when standard input closes.
 *
 * Options from the environment: BENCH_TARGET_SERVICE_MS (default 1).
 */
import * as readline from 'node:readline';
import { startTestTarget } from '../src/load/test-target';

async function main(): Promise<void> {
  const target = await startTestTarget({ serviceTimeMs: Number(process.env.BENCH_TARGET_SERVICE_MS ?? 1) });
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, arg] = line.trim().split(/\s+/);
    if (command === 'stall') {
      target.stall(Number(arg));
      process.stdout.write('stalled\n');
    } else if (command === 'count') {
      process.stdout.write(`count ${target.counts.requests}\n`);
    } else if (command === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.stdout.write(`cpu ${user + system}\n`);
    }
  });
  lines.on('close', () => {
    void target.close().then(() => process.exit(0));
  });
  process.stdout.write(`listening ${target.url}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
