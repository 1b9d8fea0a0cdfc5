/**
 * The collection's output file is also its log: one fsynced v2 row per measured point. Opening
 * an existing file resumes it: the plan must be the same, a row cut short by a crash is cut off,
 * and the collection continues after the last complete row, so no point is lost or measured twice.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { DatasetError } from '../data';
import { datasetV2Header, formatPointRow, parseDatasetV2, type CollectedPoint } from '../dataset-v2';

export class PointLog {
  private constructor(
    readonly file: string,
    private readonly fd: number,
    /** Points already recorded when the log was opened (a resumed run). */
    readonly recorded: CollectedPoint[],
    /** Bytes of a partly written row that were cut off on opening. */
    readonly cutBytes: number,
  ) {}

  /** Creates the file with its header, or reopens it for a resumed run of the same plan. */
  static open(file: string, plan: Record<string, unknown>): PointLog {
    const header = datasetV2Header(plan);
    if (!existsSync(file) || readFileSync(file, 'utf8') === '') {
      const fd = openSync(file, 'w');
      writeSync(fd, header);
      fsyncSync(fd);
      return new PointLog(file, fd, [], 0);
    }
    const text = readFileSync(file, 'utf8');
    const dataset = parseDatasetV2(text, file);
    if (JSON.stringify(dataset.plan) !== JSON.stringify(plan)) {
      throw new DatasetError(`${file}: holds a collection of another plan; resume it with the same options, or write to another file\n  recorded: ${JSON.stringify(dataset.plan)}\n  asked:    ${JSON.stringify(plan)}`, file, 2);
    }
    dataset.points.forEach((p, i) => {
      if (p.point !== i) throw new DatasetError(`${file}: row ${i + 1} is point ${p.point}, expected ${i}; the file was edited`, file, i + 4);
    });
    const keep = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1));
    const cutBytes = Buffer.byteLength(text) - keep;
    if (cutBytes > 0) truncateSync(file, keep);
    const fd = openSync(file, 'a');
    return new PointLog(file, fd, dataset.points, cutBytes);
  }

  /** Appends one point and waits until it is on disk. */
  append(point: CollectedPoint): void {
    writeSync(this.fd, formatPointRow(point));
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
