/**
 * One worker thread of a run spread over several (workers.ts): an OpenLoopGenerator on its own
 * event loop and sockets, at the rate its parent tables for it divided by the number of workers,
 * on the parent's clock. It answers the parent's window requests on a synchronous channel (a
 * MessagePort read with receiveMessageOnPort once an Atomics flag says the answer is there), and
 * sends observer events and its sessions in flight every tenth of a second.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ANSWER_READY, WORKER_EXITED } from './workers';
import { OpenLoopGenerator } from './generator';
import type { Outcome } from './target';
import { RATE_CELL_SECONDS } from './rate';
import type { ArrivalProcess } from './scheduler';
import type { ScenarioName } from './scenarios';
import type { StatsData } from './stats';

export interface WorkerSetup {
  index: number;
  workers: number;
  url: string;
  scenario: ScenarioName;
  seed: number;
  process: ArrivalProcess;
  evenPhase: number;
  timeoutMs: number;
  maxSockets: number;
  maxSessionsInFlight: number;
  maxSleepMs?: number;
  pollAboveRate?: number;
  /** Whether to send observer events (the parent has an observer). */
  observe: boolean;
  /** The synchronous channel: requests in, answers out. */
  port: MessagePort;
  /** One Int32 per worker: set to 1 when an answer is on the port. */
  flags: SharedArrayBuffer;
}

/** Parent to worker, on the worker's own channel (postMessage). */
export type WorkerCommand =
  | { type: 'start'; startEpochMs: number }
  /** The full rate λ at cell midpoints from `fromCell` on; replaces what was tabled for those cells. */
  | { type: 'rate'; fromCell: number; values: number[] }
  | { type: 'stop'; drainMs: number; arrivalsEndS: number }
  /** Fault injection for tests: the worker throws from its event loop. */
  | { type: 'crash' };

/** Parent to worker on the synchronous channel. */
export type SyncRequest = { type: 'window' | 'peek' };

/** Worker to parent (parentPort). */
export type WorkerEvent =
  | { type: 'ready' }
  | { type: 'status'; inFlight: number; socketsOpened: number; arrivals: number; dropped: number; requests: RequestEvents | null }
  | { type: 'stopped'; rest: StatsData | null };

/** Requests observed since the last status, as parallel arrays (names by index into `names`). */
export interface RequestEvents {
  names: string[];
  name: number[];
  outcome: Outcome[];
  latencyMs: number[];
}

const STATUS_INTERVAL_MS = 100;

/** λ per cell as the parent tables it: beyond the table the last value holds (the parent refills ahead of time). */
class RateTable {
  private values: number[] = [];
  private base = 0;

  /** Tables `values` from `fromCell` on; cells before `nowCell` are past and forgotten (the scheduler never looks back). */
  set(fromCell: number, values: number[], nowCell: number): void {
    const start = Math.max(fromCell, this.base);
    const skip = start - fromCell;
    const keepFrom = Math.min(Math.max(this.base, nowCell - 1), start);
    this.values = this.values.slice(keepFrom - this.base, start - this.base);
    this.base = keepFrom;
    while (this.base + this.values.length < start) this.values.push(this.values[this.values.length - 1] ?? 0);
    for (let i = skip; i < values.length; i++) this.values.push(values[i]);
  }

  at(tSeconds: number): number {
    if (this.values.length === 0) return 0;
    const cell = Math.floor(tSeconds / RATE_CELL_SECONDS + 1e-9) - this.base;
    return this.values[Math.min(Math.max(cell, 0), this.values.length - 1)];
  }
}

function main(): void {
  const setup = workerData as WorkerSetup;
  const parent = parentPort!;
  const flags = new Int32Array(setup.flags);
  const table = new RateTable();
  const share = 1 / setup.workers;
  const rate = (t: number) => table.at(t) * share;
  let generator: OpenLoopGenerator | null = null;
  let arrivals = 0;
  let dropped = 0;
  let events: RequestEvents | null = null;
  const nameIndex = new Map<string, number>();
  const observer = setup.observe
    ? {
        onArrival: (count: number) => (arrivals += count),
        onDrop: (count: number) => (dropped += count),
        onRequest: (name: string, outcome: Outcome, latencyMs: number) => {
          events ??= { names: [...nameIndex.keys()], name: [], outcome: [], latencyMs: [] };
          let i = nameIndex.get(name);
          if (i === undefined) {
            i = nameIndex.size;
            nameIndex.set(name, i);
            events.names.push(name);
          }
          events.name.push(i);
          events.outcome.push(outcome);
          events.latencyMs.push(latencyMs);
        },
      }
    : undefined;
  const sendStatus = () => {
    parent.postMessage({ type: 'status', inFlight: generator?.sessionsInFlight ?? 0, socketsOpened: generator?.socketsOpened ?? 0, arrivals, dropped, requests: events } satisfies WorkerEvent);
    arrivals = 0;
    dropped = 0;
    events = null;
  };
  let statusTimer: NodeJS.Timeout | null = null;

  setup.port.on('message', (request: SyncRequest) => {
    const data = generator ? generator.exportWindow(request.type === 'peek') : null;
    setup.port.postMessage(data);
    Atomics.store(flags, setup.index, ANSWER_READY);
    Atomics.notify(flags, setup.index);
  });

  parent.on('message', (command: WorkerCommand) => {
    switch (command.type) {
      case 'rate':
        table.set(command.fromCell, command.values, generator ? Math.floor(generator.nowS() / RATE_CELL_SECONDS) : 0);
        // The next arrival under the new values may come sooner than the generator's timer.
        generator?.setRate(rate);
        break;
      case 'start':
        generator = new OpenLoopGenerator(setup.url, rate, {
          scenario: setup.scenario,
          seed: setup.seed,
          process: setup.process,
          evenPhase: setup.evenPhase,
          timeoutMs: setup.timeoutMs,
          maxSockets: setup.maxSockets,
          maxSessionsInFlight: setup.maxSessionsInFlight,
          maxSleepMs: setup.maxSleepMs,
          pollAboveRate: setup.pollAboveRate,
          observer,
          startEpochMs: command.startEpochMs,
        });
        statusTimer = setInterval(sendStatus, STATUS_INTERVAL_MS);
        break;
      case 'stop': {
        const run = generator;
        if (!run) {
          parent.postMessage({ type: 'stopped', rest: null } satisfies WorkerEvent);
          parent.close();
          setup.port.close();
          return;
        }
        void run.stop({ drainMs: command.drainMs, arrivalsEndS: command.arrivalsEndS }).then(() => {
          if (statusTimer) clearInterval(statusTimer);
          sendStatus();
          parent.postMessage({ type: 'stopped', rest: run.exportWindow(false) } satisfies WorkerEvent);
          parent.close();
          setup.port.close();
        });
        break;
      }
      case 'crash':
        setImmediate(() => {
          throw new Error(`load worker ${setup.index} crashed on request`);
        });
        break;
    }
  });
  // A parent waiting for an answer cannot see this thread's exit event: the flag tells it.
  process.on('exit', () => {
    Atomics.store(flags, setup.index, WORKER_EXITED);
    Atomics.notify(flags, setup.index);
  });
  parent.postMessage({ type: 'ready' } satisfies WorkerEvent);
}

main();
