/**
 * HTTP routing of the simulated Kubernetes API: URL -> resource type, verb and object; bodies,
 * patches, watches and Status errors in the shapes of a real API server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery';
import type { FaultInjector, RequestVerb } from './faults';
import { openApiDocument, openApiRoot } from './openapi';
import { applyPatch } from './patch';
import { labelSelectorText, parseFieldSelector, parseLabelSelector, type Matcher } from './selectors';
import { ApiError, successStatus, type KubeObject } from './status';
import { apiVersionOf, type ObjectStore, type ResourceType, type StoreEvent } from './store';
import { printerColumns, toTable, wantsTable } from './table';
import { checkFields, deleteDryRun, writeParams } from './write-params';

/** A mutating request as the simulator received it (for tests: what did the client send?). */
export interface ReceivedRequest {
  at: number;
  verb: 'create' | 'update' | 'patch' | 'delete';
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  contentType?: string;
  body: unknown;
}

export interface ApiHandlerContext {
  store: ObjectStore;
  faults: FaultInjector;
  received: ReceivedRequest[];
  /** Extra GET routes outside the Kubernetes API (e.g. /metrics), by exact path. */
  extraRoutes: Record<string, () => { contentType: string; body: string }>;
  /** Open watch responses, closed when the simulator stops. */
  watches: Set<ServerResponse>;
  /** Subresources beyond status and scale, by `resource/subresource` (e.g. `pods/resize`). */
  subresources?: Record<string, SubresourceHandler>;
  /** The Kubernetes minor version reported at /version (default: discovery's). */
  kubernetesMinor?: number;
}

/**
 * A subresource whose reads return the object and whose writes (update or patch, already applied
 * to the object) are checked and stored by `write`.
 */
export interface SubresourceHandler {
  write(current: KubeObject, next: KubeObject): KubeObject;
}

interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const RECEIVED_LIMIT = 10_000;

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const apiError = err instanceof ApiError ? err : new ApiError(500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  send(res, apiError.code, apiError.toStatus());
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, `the request body is not valid JSON: ${text.slice(0, 80)}`);
  }
}

/** Resolves /api/v1/... or /apis/<group>/<version>/... into a resource target. */
function resolveTarget(store: ObjectStore, group: string, version: string, rest: string[], extraSubresources: Record<string, SubresourceHandler> = {}): Target {
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === 'namespaces' && parts.length >= 3 && !(group === '' && (parts[2] === 'status' || parts[2] === 'finalize'))) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [resource, name, subresource, ...extra] = parts;
  if (!resource || extra.length > 0) throw new ApiError(404, 'the server could not find the requested resource');
  const type = store.requireType(group, version, resource);
  if (!type.namespaced && namespace) throw new ApiError(404, `${resource} are not namespaced`);
  const isExtra = group === '' && subresource !== undefined && extraSubresources[`${resource}/${subresource}`] !== undefined;
  if (subresource && !((subresource === 'status' && type.status) || (subresource === 'scale' && type.scale) || isExtra)) {
    throw new ApiError(404, `the server could not find the requested resource (${resource}/${subresource})`);
  }
  return { type, namespace, name, subresource };
}

function verbOf(method: string, target: Target, watch: boolean): RequestVerb {
  switch (method) {
    case 'GET':
      return target.name ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      throw new ApiError(405, `method ${method} is not allowed`);
  }
}

function scaleOf(deployment: KubeObject): KubeObject {
  const m = deployment.metadata!;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: deployment.spec?.replicas ?? 0 },
    status: { replicas: deployment.status?.replicas ?? 0, selector: labelSelectorText(deployment.spec?.selector) },
  };
}

function listOf(type: ResourceType, items: KubeObject[], revision: number): KubeObject {
  return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(revision) }, items };
}

export function createApiHandler(ctx: ApiHandlerContext) {
  const { store } = ctx;

  function record(entry: Omit<ReceivedRequest, 'at'>): void {
    ctx.received.push({ at: Date.now(), ...entry });
    if (ctx.received.length > RECEIVED_LIMIT) ctx.received.splice(0, ctx.received.length - RECEIVED_LIMIT);
  }

  function watch(req: IncomingMessage, res: ServerResponse, target: Target, query: URLSearchParams): void {
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(query.get('fieldSelector'));
    const inScope: Matcher = (o) => (!target.namespace || o.metadata?.namespace === target.namespace) && labels(o) && fields(o);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders(); // clients wait for the headers before reading events
    const write = (type: string, object: KubeObject) => {
      // An ended watch (server timeout, simulated drop) may still see changes until its 'close' event.
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const deliver = (event: StoreEvent) => {
      if (event.resourceType !== target.type) return;
      const now = inScope(event.object);
      const before = event.old ? inScope(event.old) : false;
      if (event.type === 'MODIFIED' && before && !now) write('DELETED', event.object);
      else if (event.type === 'MODIFIED' && !before && now) write('ADDED', event.object);
      else if (now) write(event.type, event.object);
    };
    const since = query.get('resourceVersion');
    let backlog: StoreEvent[] = [];
    if (!since || since === '0') {
      for (const o of store.list(target.type, target.namespace, inScope)) write('ADDED', o);
    } else {
      try {
        backlog = store.eventsSince(target.type, Number(since));
      } catch (err) {
        write('ERROR', (err as ApiError).toStatus());
        res.end();
        return;
      }
    }
    for (const e of backlog) deliver(e);
    const unsubscribe = store.subscribe(deliver);
    ctx.watches.add(res);
    const finish = () => {
      unsubscribe();
      ctx.watches.delete(res);
      clearTimeout(timer);
    };
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 1800);
    const timer = setTimeout(() => res.end(), Math.max(1, timeoutSeconds) * 1000);
    res.on('close', finish);
    req.on('close', finish);
  }

  async function resource(req: IncomingMessage, res: ServerResponse, target: Target, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const isWatch = query.get('watch') === 'true' || query.get('watch') === '1';
    const verb = verbOf(method, target, isWatch);
    const fault = ctx.faults.take(verb, target.type.resource);
    if (fault) {
      await readBody(req).catch(() => undefined);
      throw fault;
    }
    const { type, namespace, name, subresource } = target;
    const where = { group: type.group, version: type.version, resource: type.resource, namespace, name, subresource };

    if (verb === 'watch') return watch(req, res, target, query);
    if (verb === 'list') {
      const labels = parseLabelSelector(query.get('labelSelector'));
      const fields = parseFieldSelector(query.get('fieldSelector'));
      const items = store.list(type, namespace, (o) => labels(o) && fields(o));
      const columns = wantsTable(req.headers.accept) ? printerColumns(store, type) : undefined;
      if (columns) return send(res, 200, toTable(items, columns, String(store.currentRevision)));
      return send(res, 200, listOf(type, items, store.currentRevision));
    }
    if (verb === 'create') {
      if (name) throw new ApiError(405, `POST is not allowed on a named ${type.resource} object`);
      const body = (await readBody(req)) as KubeObject;
      record({ verb, ...where, contentType: req.headers['content-type'], body });
      if (!body || typeof body !== 'object') throw new ApiError(400, 'the request body must be an object');
      const params = writeParams(query);
      checkFields(type, body, params, res);
      return send(res, 201, store.create(type, namespace, body, { dryRun: params.dryRun }));
    }
    if (!name) {
      if (verb === 'delete') {
        const dryRun = deleteDryRun(query, await readBody(req));
        const labels = parseLabelSelector(query.get('labelSelector'));
        const items = store.list(type, namespace, labels).map((o) => store.delete(type, o.metadata?.namespace, o.metadata!.name, { dryRun }));
        return send(res, 200, listOf(type, items, store.currentRevision));
      }
      throw new ApiError(405, `${method} needs an object name`);
    }
    if (verb === 'get') {
      const object = store.get(type, namespace, name);
      const columns = !subresource && wantsTable(req.headers.accept) ? printerColumns(store, type) : undefined;
      if (columns) return send(res, 200, toTable([object], columns, String(object.metadata?.resourceVersion)));
      return send(res, 200, subresource === 'scale' ? scaleOf(object) : object);
    }
    if (verb === 'delete') {
      const body = await readBody(req);
      record({ verb, ...where, body });
      const object = store.delete(type, namespace, name, { dryRun: deleteDryRun(query, body) });
      return send(res, 200, type.resource === 'pods' || type.group !== '' ? object : successStatus({ name, kind: type.resource, uid: object.metadata?.uid }));
    }

    // update and patch: compute the new object, then write it through the store.
    const body = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    record({ verb, ...where, contentType, body });
    const current = store.get(type, namespace, name);
    const base = subresource === 'scale' ? scaleOf(current) : current;
    let next: KubeObject;
    if (verb === 'patch') {
      if (body === undefined) throw new ApiError(400, 'the patch body is empty');
      next = applyPatch(contentType, base, body, type.strategicMerge !== false);
      if (next?.metadata?.resourceVersion === base.metadata?.resourceVersion && !(body as KubeObject)?.metadata?.resourceVersion) {
        // A patch without a resourceVersion applies to the latest version.
        delete next.metadata!.resourceVersion;
      }
    } else {
      if (!body || typeof body !== 'object') throw new ApiError(400, 'the request body must be an object');
      next = body as KubeObject;
    }
    if (!next || typeof next !== 'object') throw new ApiError(422, 'the result of the patch is not an object');
    const params = writeParams(query);
    checkFields(type, next, params, res);
    const { dryRun } = params;
    const extraHandler = subresource ? ctx.subresources?.[`${type.resource}/${subresource}`] : undefined;
    // A subresource with its own handler (pods/resize) writes nothing under a dry run.
    if (extraHandler) return send(res, 200, dryRun ? next : extraHandler.write(current, next));
    if (subresource === 'scale') {
      const replicas = next.spec?.replicas;
      if (!Number.isInteger(replicas) || replicas < 0) {
        throw new ApiError(422, `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, 'Invalid');
      }
      const sentVersion = next.metadata?.resourceVersion;
      const updated = store.update(type, namespace, name, { ...current, metadata: { ...current.metadata, resourceVersion: sentVersion ?? current.metadata!.resourceVersion }, spec: { ...current.spec, replicas } }, { dryRun });
      return send(res, 200, scaleOf(updated));
    }
    return send(res, 200, store.update(type, namespace, name, next, { subresource: subresource === 'status' ? 'status' : undefined, dryRun }));
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
      const path = `/${parts.join('/')}`;
      if (req.method === 'GET' && ctx.extraRoutes[path]) {
        const { contentType, body } = ctx.extraRoutes[path]();
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      if (parts[0] === 'api') {
        if (parts.length === 1) return send(res, 200, apiVersions());
        if (parts.length === 2) {
          const list = apiResourceList(store, '', parts[1], Object.keys(ctx.subresources ?? {}));
          if (!list) throw new ApiError(404, `the server could not find the requested resource (api ${parts[1]})`);
          return send(res, 200, list);
        }
        return await resource(req, res, resolveTarget(store, '', parts[1], parts.slice(2), ctx.subresources), url.searchParams);
      }
      if (parts[0] === 'apis') {
        if (parts.length === 1) return send(res, 200, apiGroupList(store));
        if (parts.length === 2) {
          const group = apiGroup(store, parts[1]);
          if (!group) throw new ApiError(404, `the server could not find the requested resource (group ${parts[1]})`);
          return send(res, 200, group);
        }
        if (parts.length === 3) {
          const list = apiResourceList(store, parts[1], parts[2]);
          if (!list) throw new ApiError(404, `the server could not find the requested resource (${parts[1]}/${parts[2]})`);
          return send(res, 200, list);
        }
        return await resource(req, res, resolveTarget(store, parts[1], parts[2], parts.slice(3)), url.searchParams);
      }
      if (path === '/version') return send(res, 200, versionInfo(ctx.kubernetesMinor));
      if (path === '/openapi/v2') {
        // Older kubectl (before v3 support) asks for the v2 document as protobuf. An empty
        // Document message is valid protobuf: kubectl then finds no schema and validates nothing
        // client-side, and the simulator's own checks answer 422 as before.
        res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'Content-Length': '0' });
        res.end();
        return;
      }
      if (path === '/openapi/v3') return send(res, 200, openApiRoot(store));
      if (parts[0] === 'openapi' && parts[1] === 'v3') {
        const document = openApiDocument(store, parts.slice(2).join('/'));
        if (!document) throw new ApiError(404, `no OpenAPI document for ${parts.slice(2).join('/')}`);
        return send(res, 200, document);
      }
      if (path === '/healthz' || path === '/readyz' || path === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      throw new ApiError(404, `the server could not find the requested resource (${path})`);
    } catch (err) {
      if (!res.headersSent) sendError(res, err);
      else res.end();
    }
  };
}
