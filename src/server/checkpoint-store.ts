/**
 * The server's checkpoints in its state dir: `checkpoints/update-000012/` with the policy files
 * and a meta.json. Each is written into a temporary folder, fsynced, then renamed into place, so a
 * crash leaves either the whole checkpoint or none of it. Only the newest `keep` are kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ServerCheckpointMeta {
  /** Updates behind these weights. */
  version: number;
  /** Every transition completed by a log event with seq <= this was trained on. */
  trainedThroughSeq: number;
  /** Transitions trained on so far. */
  stepsTrained: number;
  createdAt: string;
  /** The checkpoint these weights were trained from (a folder path), or null. */
  parent: string | null;
  stats?: Record<string, number>;
}

const PREFIX = 'update-';

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class CheckpointStore {
  readonly dir: string;

  constructor(stateDir: string, readonly keep = 3) {
    this.dir = path.join(stateDir, 'checkpoints');
    fs.mkdirSync(this.dir, { recursive: true });
    // Leftovers of a save that a crash interrupted.
    for (const name of fs.readdirSync(this.dir)) if (name.startsWith('.tmp-')) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
  }

  /** Complete checkpoints, oldest first. */
  list(): string[] {
    return fs
      .readdirSync(this.dir)
      .filter((name) => name.startsWith(PREFIX) && fs.existsSync(path.join(this.dir, name, 'meta.json')))
      .sort()
      .map((name) => path.join(this.dir, name));
  }

  latest(): { dir: string; meta: ServerCheckpointMeta } | null {
    const all = this.list();
    if (!all.length) return null;
    const dir = all[all.length - 1];
    return { dir, meta: JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as ServerCheckpointMeta };
  }

  /** Writes a checkpoint atomically: `writeFiles` fills a temporary folder, which is then renamed. */
  async save(meta: ServerCheckpointMeta, writeFiles: (dir: string) => Promise<void>): Promise<string> {
    const name = `${PREFIX}${String(meta.version).padStart(6, '0')}`;
    const tmp = path.join(this.dir, `.tmp-${name}-${process.pid}`);
    const final = path.join(this.dir, name);
    await fs.promises.rm(tmp, { recursive: true, force: true });
    await fs.promises.mkdir(tmp);
    await writeFiles(tmp);
    await fs.promises.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    for (const file of fs.readdirSync(tmp)) fsyncPath(path.join(tmp, file));
    fsyncPath(tmp);
    // A checkpoint of the same version can exist when a crash came after it was saved but before
    // the log recorded that; the new one replaces it.
    await fs.promises.rm(final, { recursive: true, force: true });
    await fs.promises.rename(tmp, final);
    fsyncPath(this.dir);
    for (const old of this.list().slice(0, -this.keep)) await fs.promises.rm(old, { recursive: true, force: true });
    return final;
  }
}
