/**
 * CPU time of single threads of this process (Linux /proc), so that the request thread's cost per
 * decision can be told apart from the learner thread's: process.cpuUsage() adds up all threads.
 */
import * as fs from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat's utime and stime, 100 on every Linux ABI Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The kernel's id of the calling thread, or null where /proc/thread-self is missing. */
export function currentThreadId(): number | null {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user and system) thread `tid` of this process has used so far, or null when it
 * cannot be read (another platform, or the thread has exited). schedstat's nanoseconds first,
 * else stat's clock ticks.
 */
export function threadCpuSeconds(tid: number): number | null {
  const dir = `/proc/self/task/${tid}`;
  try {
    const nanoseconds = Number(fs.readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(nanoseconds) && nanoseconds > 0) return nanoseconds / 1e9;
  } catch {
    // fall through to stat
  }
  try {
    // Fields after the command name (which may hold spaces, so split after its closing paren).
    const fields = fs.readFileSync(`${dir}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user and system, all threads) process `pid` has used so far, from its
 * /proc/<pid>/stat clock ticks; null where that cannot be read (another platform, or it exited).
 */
export function processCpuSeconds(pid: number): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}
