/** A tiny router: method + path pattern -> handler, with 404 and 405 answers naming what exists. */
import { HttpError } from './errors';
import type { HttpRequest, Reply } from './exchange';

export type Handler = (req: HttpRequest, res: Reply, params: Record<string, string>) => Promise<void> | void;

interface Route {
  method: string;
  /** Stable name for metrics labels (never the raw path, which holds episode ids). */
  name: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `path` segments starting with ':' capture a parameter, e.g. `/v1/episodes/:id/action`. */
  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        keys.push(segment.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.routes.push({ method, name: `${method} ${path}`, pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  /** The matching route, or throws 404 / 405. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    // The routes of the request's method first: the answer for every valid request.
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, params: this.params(route, m) };
    }
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      return { route, params: this.params(route, m) };
    }
    if (allowed.length) throw new HttpError(405, 'method_not_allowed', `${method} ${path} is not supported; use ${allowed.join(' or ')}`, 'method');
    throw new HttpError(404, 'not_found', `no such endpoint: ${method} ${path}`, 'path');
  }

  private params(route: Route, m: RegExpExecArray): Record<string, string> {
    const params: Record<string, string> = {};
    for (let i = 0; i < route.keys.length; i++) {
      const value = m[i + 1];
      // Most segments (episode ids) hold no escapes: skip the decoder for them.
      if (!value.includes('%')) {
        params[route.keys[i]] = value;
        continue;
      }
      try {
        params[route.keys[i]] = decodeURIComponent(value);
      } catch {
        throw new HttpError(400, 'invalid_path', `path segment ${JSON.stringify(value)} is not valid percent-encoding`, route.keys[i]);
      }
    }
    return params;
  }
}
