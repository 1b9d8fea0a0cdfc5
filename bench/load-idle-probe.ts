/**
 * The machine's own floor for send lateness, for bench/load.ts: a process that does nothing but
 * keep a schedule of one event per millisecond and records how late it gets to each (the same
 * measure as the generator's send lateness, without any requests). Run beside a generator run, it
 * tells what lateness the kernel's scheduling alone causes on a shared machine at that moment.
 * Takes the duration in seconds as its argument; prints `started`, then one line of JSON:
 * `{ events, p50, p99, max }` in milliseconds.
 */
import { performance } from 'node:perf_hooks';

const seconds = Number(process.argv[2]);
if (!(seconds > 0)) {
  console.error(`load-idle-probe: expected a duration in seconds, got "${process.argv[2] ?? ''}"`);
  process.exit(2);
}

const lateness: number[] = [];
const t0 = performance.now();
let next = 0;
process.stdout.write('started\n');
const timer = setInterval(() => {
  const elapsed = performance.now() - t0;
  // Every event whose time has passed is recorded, so a stall of d ms shows as d events late by up to d.
  while (next + 1 <= elapsed) {
    next++;
    lateness.push(elapsed - next);
  }
  if (elapsed >= seconds * 1000) {
    clearInterval(timer);
    lateness.sort((a, b) => a - b);
    const at = (p: number) => lateness[Math.max(0, Math.ceil((p / 100) * lateness.length) - 1)] ?? 0;
    process.stdout.write(`${JSON.stringify({ events: lateness.length, p50: at(50), p99: at(99), max: lateness[lateness.length - 1] ?? 0 })}\n`);
  }
}, 1);
