/**
 * One autocannon run in a process of its own, for bench/load.ts. Takes one JSON argument (the
 * autocannon options); prints `started` as it begins and, at its end, one line of JSON:
 * `{ requests, duration, rate, latency: {p50, p99, max}, errors, non2xx, cpuMicrosPerRequest }`.
 */
import autocannon from 'autocannon';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '') as autocannon.Options;
  process.stdout.write('started\n');
  const cpuBefore = process.cpuUsage();
  const result = await autocannon(options);
  const cpu = process.cpuUsage(cpuBefore);
  const report = {
    requests: result.requests.total,
    duration: result.duration,
    rate: result.requests.total / result.duration,
    latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors,
    non2xx: result.non2xx,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, result.requests.total),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
