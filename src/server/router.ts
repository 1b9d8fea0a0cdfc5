/** A tiny router: method + path pattern -> handler, with 404 and 405 answers naming what exists. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void> | void;

interface Route {
  method: string;
  /** Stable name for metrics labels (never the raw path, which holds episode ids). */
  name: string;
  /** The path split at '/': a literal segment, or null where a parameter goes. */
  segments: (string | null)[];
  keys: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `path` segments starting with ':' capture a parameter, e.g. `/v1/episodes/:id/action`. */
  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const segments = path.split('/').map((segment) => {
      if (!segment.startsWith(':')) return segment;
      keys.push(segment.slice(1));
      return null;
    });
    this.routes.push({ method, name: `${method} ${path}`, segments, keys, handler });
    return this;
  }

  /** The matching route, or throws 404 / 405. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    // Segment by segment rather than a regular expression per route: a request is matched with
    // one split and string comparisons. A parameter matches any non-empty segment.
    const parts = path.split('/');
    const allowed: string[] = [];
    for (const route of this.routes) {
      if (!matches(route.segments, parts)) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      let k = 0;
      for (let i = 0; i < parts.length; i++) {
        if (route.segments[i] !== null) continue;
        const key = route.keys[k++];
        try {
          params[key] = decodeURIComponent(parts[i]);
        } catch {
          throw new HttpError(400, 'invalid_path', `path segment ${JSON.stringify(parts[i])} is not valid percent-encoding`, key);
        }
      }
      return { route, params };
    }
    if (allowed.length) throw new HttpError(405, 'method_not_allowed', `${method} ${path} is not supported; use ${allowed.join(' or ')}`, 'method');
    throw new HttpError(404, 'not_found', `no such endpoint: ${method} ${path}`, 'path');
  }
}

function matches(segments: (string | null)[], parts: string[]): boolean {
  if (segments.length !== parts.length) return false;
  for (let i = 0; i < parts.length; i++) {
    const literal = segments[i];
    if (literal === null ? parts[i] === '' : literal !== parts[i]) return false;
  }
  return true;
}
