/**
 * A generic, in-memory object store with the semantics of the Kubernetes API server that clients
 * rely on: resourceVersion (one global counter), optimistic concurrency on update, generation
 * bumped on spec changes, a status subresource, and watch with a bounded event history.
 * Any group/version/resource is served once registered; nothing here knows about Deployments.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, alreadyExists, conflict, invalid, notFound, type KubeObject } from './status';
import type { Matcher } from './selectors';
import type { FieldSchema } from './field-schema';

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  resource: string; // plural, e.g. 'deployments'
  kind: string;
  namespaced: boolean;
  singular?: string;
  shortNames?: string[];
  /** Subresources beyond the object itself. */
  status?: boolean;
  scale?: boolean;
  /** Whether strategic merge patches are accepted (built-in types yes, custom resources no). */
  strategicMerge?: boolean;
  /** Defaults and validation on create and update; throw ApiError(422) for invalid objects. */
  prepare?: (object: KubeObject, old: KubeObject | undefined) => void;
  /** Known fields, for fieldValidation Strict and Warn (without one, unknown fields are kept silently). */
  schema?: FieldSchema;
}

/** `dryRun`: validate and answer as for a real write, but store nothing (the API's dryRun=All). */
export interface WriteOptions {
  dryRun?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  type: WatchEventType;
  resourceType: ResourceType;
  object: KubeObject;
  old?: KubeObject;
  resourceVersion: number;
}

const HISTORY_LIMIT = 2000;
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
const typeKey = (group: string, version: string, resource: string) => `${group}/${version}/${resource}`;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

export class ObjectStore {
  private readonly types = new Map<string, ResourceType>();
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  /** Per-simulator defaulting on create (e.g. fields a given Kubernetes version adds), beside the type's own `prepare`. */
  private readonly defaulters = new Map<string, ((object: KubeObject) => void)[]>();
  private revision = 1;

  /** `random` drives generated name suffixes, so a seeded simulator names objects reproducibly. */
  constructor(private readonly random: () => number) {}

  register(type: ResourceType): ResourceType {
    const key = typeKey(type.group, type.version, type.resource);
    if (!this.types.has(key)) {
      this.types.set(key, type);
      this.objects.set(key, new Map());
    }
    return this.types.get(key)!;
  }

  /** Runs `defaulter` on every new object of `type`, after the type's own defaults. */
  addDefaulter(type: ResourceType, defaulter: (object: KubeObject) => void): void {
    const key = typeKey(type.group, type.version, type.resource);
    this.defaulters.set(key, [...(this.defaulters.get(key) ?? []), defaulter]);
  }

  resourceTypes(): ResourceType[] {
    return [...this.types.values()];
  }

  typeOf(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.get(typeKey(group, version, resource));
  }

  /** The registered type, or a 404 naming what is not served. */
  requireType(group: string, version: string, resource: string): ResourceType {
    const type = this.typeOf(group, version, resource);
    if (!type) throw new ApiError(404, `the server could not find the requested resource (${group ? `${group}/` : ''}${version} ${resource})`);
    return type;
  }

  get currentRevision(): number {
    return this.revision;
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    return this.objects.get(typeKey(type.group, type.version, type.resource))!;
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return type.namespaced ? `${namespace}/${name}` : name;
  }

  private emit(type: WatchEventType, resourceType: ResourceType, object: KubeObject, old?: KubeObject): void {
    const event: StoreEvent = { type, resourceType, object: clone(object), old, resourceVersion: Number(object.metadata?.resourceVersion) };
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private checkNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return;
    if (!namespace) throw new ApiError(400, `${type.resource} are namespaced: a namespace is required`);
    const namespaces = this.typeOf('', 'v1', 'namespaces');
    if (namespaces && !this.bucket(namespaces).has(namespace)) throw notFound('namespaces', namespace);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = this.bucket(type).get(this.key(type, namespace, name));
    if (!object) throw notFound(type.resource, name, type.group);
    return clone(object);
  }

  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const object = this.bucket(type).get(this.key(type, namespace, name));
    return object ? clone(object) : undefined;
  }

  list(type: ResourceType, namespace: string | undefined, matches: Matcher = () => true): KubeObject[] {
    const items: KubeObject[] = [];
    for (const object of this.bucket(type).values()) {
      if (type.namespaced && namespace && object.metadata?.namespace !== namespace) continue;
      if (matches(object)) items.push(clone(object));
    }
    return items.sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  }

  create(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions = {}): KubeObject {
    const object = clone(body);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    const metadata = (object.metadata ??= {});
    if (!metadata.name && metadata.generateName) metadata.name = `${metadata.generateName}${randomSuffix(5, this.random)}`;
    const name = metadata.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.length > 253) {
      throw invalid(type.kind, String(name ?? ''), [{ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain is required` }]);
    }
    if (type.namespaced) {
      if (metadata.namespace && namespace && metadata.namespace !== namespace) {
        throw new ApiError(400, `the namespace of the provided object (${metadata.namespace}) does not match the namespace sent on the request (${namespace})`);
      }
      metadata.namespace = namespace ?? metadata.namespace;
    } else delete metadata.namespace;
    this.checkNamespace(type, metadata.namespace);
    const key = this.key(type, metadata.namespace, name);
    if (this.bucket(type).has(key)) throw alreadyExists(type.resource, name, type.group);
    type.prepare?.(object, undefined);
    for (const defaulter of this.defaulters.get(typeKey(type.group, type.version, type.resource)) ?? []) defaulter(object);
    metadata.uid = randomUUID();
    metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    metadata.generation = 1;
    delete metadata.deletionTimestamp;
    // A dry run answers like the write would, but stores nothing and takes no resourceVersion.
    if (options.dryRun) return clone(object);
    metadata.resourceVersion = String(++this.revision);
    this.bucket(type).set(key, object);
    this.emit('ADDED', type, object);
    return clone(object);
  }

  /**
   * Replaces an object. A body resourceVersion must match the stored one (409 otherwise).
   * `subresource: 'status'` takes only the status; otherwise, with a status subresource, the
   * status of the body is ignored, as on a real API server.
   */
  update(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject, options: { subresource?: 'status'; server?: boolean } & WriteOptions = {}): KubeObject {
    const key = this.key(type, namespace, name);
    const old = this.bucket(type).get(key);
    if (!old) throw notFound(type.resource, name, type.group);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new ApiError(400, `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    const sentVersion = body.metadata?.resourceVersion;
    if (sentVersion !== undefined && sentVersion !== '' && sentVersion !== old.metadata!.resourceVersion) throw conflict(type.resource, name, type.group);
    let object: KubeObject;
    if (options.subresource === 'status') {
      object = { ...clone(old), status: clone(body.status) };
    } else {
      object = clone(body);
      // Clients write status only through the status subresource; the server's controllers may write both.
      if (type.status && !options.server) object.status = old.status === undefined ? undefined : clone(old.status);
    }
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    // Server-owned metadata cannot be changed by a client.
    object.metadata = {
      ...(object.metadata ?? {}),
      name,
      namespace: old.metadata!.namespace,
      uid: old.metadata!.uid,
      creationTimestamp: old.metadata!.creationTimestamp,
      generation: old.metadata!.generation,
    };
    // Only the server (a controller) marks an object as terminating.
    const deletionTimestamp = options.server ? body.metadata?.deletionTimestamp : old.metadata!.deletionTimestamp;
    if (deletionTimestamp) object.metadata.deletionTimestamp = deletionTimestamp;
    else delete object.metadata.deletionTimestamp;
    if (!type.namespaced) delete object.metadata.namespace;
    if (options.subresource !== 'status') type.prepare?.(object, clone(old));
    const specChanged = JSON.stringify(object.spec) !== JSON.stringify(old.spec);
    if (specChanged && options.subresource !== 'status') object.metadata.generation = (old.metadata!.generation ?? 1) + 1;
    if (JSON.stringify(object) === JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: object.metadata.resourceVersion } })) {
      // No change: a real server answers with the object and does not bump resourceVersion.
      return clone(old);
    }
    if (options.dryRun) return clone(object);
    object.metadata.resourceVersion = String(++this.revision);
    this.bucket(type).set(key, object);
    this.emit('MODIFIED', type, object, clone(old));
    return clone(object);
  }

  /** Server-side mutation (controllers): read, change, write, without a version check. */
  mutate(type: ResourceType, namespace: string | undefined, name: string, change: (object: KubeObject) => void, options: { subresource?: 'status' } = {}): KubeObject | undefined {
    const current = this.find(type, namespace, name);
    if (!current) return undefined;
    change(current);
    delete current.metadata!.resourceVersion;
    return this.update(type, namespace, name, current, { ...options, server: true });
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, options: WriteOptions = {}): KubeObject {
    const key = this.key(type, namespace, name);
    const old = this.bucket(type).get(key);
    if (!old) throw notFound(type.resource, name, type.group);
    if (options.dryRun) return clone(old);
    this.bucket(type).delete(key);
    const object = clone(old);
    object.metadata!.resourceVersion = String(++this.revision);
    this.emit('DELETED', type, object);
    return object;
  }

  /** Drops the event history (etcd compaction): watches can only start from now on. */
  compact(): void {
    this.history.splice(0);
  }

  /**
   * Events of `type` after `resourceVersion` (exclusive), for a watch that resumes. Throws 410
   * Expired when the history no longer reaches back that far.
   */
  eventsSince(type: ResourceType, resourceVersion: number): StoreEvent[] {
    const oldest = this.history.length > 0 ? this.history[0].resourceVersion : this.revision + 1;
    if (resourceVersion < oldest - 1 && resourceVersion < this.revision) {
      throw new ApiError(410, `too old resource version: ${resourceVersion} (${oldest - 1})`, 'Expired');
    }
    return this.history.filter((e) => e.resourceType === type && e.resourceVersion > resourceVersion);
  }
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(length: number, random: () => number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHANUMS[Math.floor(random() * ALPHANUMS.length)];
  return s;
}
