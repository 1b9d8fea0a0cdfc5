/**
 * Append-only JSONL log of environment steps, flushed to disk (fsync) before `append` returns, so
 * a run interrupted at any point (even by SIGKILL) keeps every completed step. Reading tolerates a
 * torn last line (a write cut short by the kill): it is reported and ignored, never half-parsed.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';

export interface StepLogRecord {
  /** Record type: a `run` header, then `reset`, `step`, `error` and `checkpoint` records, and `end`. */
  type: 'run' | 'reset' | 'step' | 'error' | 'checkpoint' | 'end';
  runId: string;
  time: string;
  [field: string]: unknown;
}

export class StepLog {
  private fd: number | null;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.fd = openSync(file, 'a');
  }

  /** Writes one record and forces it to disk before returning. */
  append(record: Omit<StepLogRecord, 'time'> & { time?: string }): void {
    if (this.fd === null) throw new Error(`step log ${this.file} is closed`);
    const line = JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n';
    writeSync(this.fd, line);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export interface ReadLog {
  records: StepLogRecord[];
  /** A final line that was cut short by an interruption, if any. */
  tornLine?: string;
}

/** Reads a step log; a malformed line other than the last is an error naming the line. */
export function readStepLog(file: string): ReadLog {
  if (!existsSync(file)) return { records: [] };
  const lines = readFileSync(file, 'utf8').split('\n');
  const last = lines.pop();
  const records: StepLogRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as StepLogRecord);
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON record: ${line.slice(0, 80)}`);
    }
  });
  if (last && last.trim() !== '') {
    // No newline after it: the write was interrupted.
    return { records, tornLine: last };
  }
  return { records };
}
