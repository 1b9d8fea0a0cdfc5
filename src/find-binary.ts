/**
 * Finding an executable the way a shell would, for the programs this project starts when they
 * exist (Prometheus, util-linux's setpriv, coreutils' nice).
 */
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';

/** An executable by path, or by name on PATH. */
export function findBinary(name: string): string | undefined {
  if (name.includes('/')) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return undefined;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
