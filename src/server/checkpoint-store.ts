/**
 * The server's checkpoints in its state dir: `checkpoints/update-000012/`, each a complete policy
 * checkpoint (src/agent/checkpoint.ts: written atomically, loadable by every other command) whose
 * meta.json `metrics` also hold the server's resume point. Only the newest `keep` are kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpointMeta } from '../agent/checkpoint';

export interface ServerCheckpointMeta {
  /** Updates behind these weights. */
  version: number;
  /** Every transition completed by a log event with seq <= this was trained on. */
  trainedThroughSeq: number;
  /** Transitions trained on so far. */
  stepsTrained: number;
  /** Transitions with seq <= trainedThroughSeq dropped as stale (0 in checkpoints older than the count). */
  droppedStale?: number;
  /** The checkpoint these weights were trained from (a folder path), or null. */
  parent: string | null;
  /** The last update's statistics. */
  stats?: Record<string, number>;
}

const PREFIX = 'update-';

export class CheckpointStore {
  readonly dir: string;

  constructor(stateDir: string, readonly keep = 3) {
    this.dir = path.join(stateDir, 'checkpoints');
    fs.mkdirSync(this.dir, { recursive: true });
    // Leftovers of a save that a crash interrupted (temporary folders are hidden).
    for (const name of fs.readdirSync(this.dir)) if (name.startsWith('.')) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
  }

  /** Checkpoint folders, oldest first. */
  list(): string[] {
    return fs
      .readdirSync(this.dir)
      .filter((name) => name.startsWith(PREFIX))
      .sort()
      .map((name) => path.join(this.dir, name));
  }

  latest(): { dir: string; meta: ServerCheckpointMeta } | null {
    const all = this.list();
    if (!all.length) return null;
    const dir = all[all.length - 1];
    const { metrics, parent } = readCheckpointMeta(dir);
    const number = (key: string) => {
      const v = metrics[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${dir}/meta.json: metrics.${key} is ${JSON.stringify(v)}, not a count (not a policy-server checkpoint?)`);
      return v;
    };
    const droppedStale = metrics.droppedStaleSteps === undefined ? 0 : number('droppedStaleSteps');
    return { dir, meta: { version: number('policyVersion'), trainedThroughSeq: number('trainedThroughSeq'), stepsTrained: number('stepsTrained'), droppedStale, parent } };
  }

  /** Saves through `write`, which writes the checkpoint at the given path atomically; prunes old ones. */
  async save(meta: ServerCheckpointMeta, write: (dir: string) => Promise<void>): Promise<string> {
    const final = path.join(this.dir, `${PREFIX}${String(meta.version).padStart(6, '0')}`);
    // A checkpoint of the same version exists when a crash came after it was saved but before
    // the experience behind it was acknowledged as trained; the new one replaces it.
    await write(final);
    for (const old of this.list().slice(0, -this.keep)) await fs.promises.rm(old, { recursive: true, force: true });
    return final;
  }
}
