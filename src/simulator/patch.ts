/**
 * The three patch formats of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch
 * (RFC 6902) and strategic merge patch (merge keys for the well-known lists of pod specs).
 */
import { ApiError } from './status';

type Json = any;

const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new ApiError(422, `JSON patch path ${JSON.stringify(pointer)} must start with "/"`);
  return pointer.slice(1).split('/').map(unescapePointer);
}

function parentOf(doc: Json, tokens: string[], path: string): Json {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(t)] : isObject(node) ? node[t] : undefined;
    if (node === undefined) throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} does not exist`);
  }
  return node;
}

function getAt(doc: Json, path: string): Json {
  let node = doc;
  for (const t of pointerTokens(path)) {
    node = Array.isArray(node) ? node[Number(t)] : isObject(node) ? node[t] : undefined;
    if (node === undefined) throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} does not exist`);
  }
  return node;
}

function removeAt(doc: Json, path: string): Json {
  const tokens = pointerTokens(path);
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} is out of range`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(last in parent)) throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} does not exist`);
  const value = parent[last];
  delete parent[last];
  return value;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointerTokens(path);
  if (tokens.length === 0) return clone(value);
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i >= parent.length)) {
      throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} is out of range`);
    }
    if (replace) parent[i] = clone(value);
    else parent.splice(i, 0, clone(value));
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} does not exist`);
    parent[last] = clone(value);
  } else throw new ApiError(422, `JSON patch path ${JSON.stringify(path)} does not exist`);
  return doc;
}

export function applyJsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw new ApiError(400, 'a JSON patch must be an array of operations');
  let doc = clone(target);
  for (const op of operations) {
    if (!isObject(op) || typeof op.path !== 'string') throw new ApiError(400, `invalid JSON patch operation ${JSON.stringify(op)}`);
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, op.value, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) {
          throw new ApiError(422, `JSON patch test failed at ${JSON.stringify(op.path)}`);
        }
        break;
      case 'move':
        doc = addAt(doc, op.path, removeAt(doc, op.from), false);
        break;
      case 'copy':
        doc = addAt(doc, op.path, getAt(doc, op.from), false);
        break;
      default:
        throw new ApiError(400, `unknown JSON patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}

/** Merge keys of the lists that strategic merge patches merge by key (by field name). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
};

function strategicMergeList(target: Json[], patch: Json[], mergeKey: string): Json[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map(stripDirectives);
  const result = target.map(clone);
  for (const item of patch) {
    if (!isObject(item) || !(mergeKey in item)) throw new ApiError(422, `strategic merge patch: list item ${JSON.stringify(item)} lacks its merge key ${JSON.stringify(mergeKey)}`);
    const index = result.findIndex((t) => isObject(t) && t[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = applyStrategicMergePatch(result[index], item);
    else result.push(stripDirectives(item));
  }
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}

export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    // Ordering and retain-keys directives ($setElementOrder/..., $retainKeys, $deleteFromPrimitiveList/...)
    // do not change the merged content that the simulator cares about.
    if (key.startsWith('$')) continue;
    if (value === null) delete result[key];
    else if (Array.isArray(value) && MERGE_KEYS[key] && Array.isArray(result[key])) result[key] = strategicMergeList(result[key], value, MERGE_KEYS[key]);
    else if (Array.isArray(value)) result[key] = stripDirectives(value);
    else if (isObject(value)) {
      const merged = applyStrategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  return result;
}

export const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
} as const;

export function applyPatch(contentType: string, target: Json, patch: Json, strategicAllowed: boolean): Json {
  const type = contentType.split(';')[0].trim();
  if (type === PATCH_TYPES.merge) return applyMergePatch(target, patch);
  if (type === PATCH_TYPES.json) return applyJsonPatch(target, patch);
  if (type === PATCH_TYPES.strategic) {
    if (!strategicAllowed) throw new ApiError(415, 'strategic merge patch is not supported for custom resources; use a JSON merge patch');
    return applyStrategicMergePatch(target, patch);
  }
  throw new ApiError(415, `the patch content type ${JSON.stringify(contentType)} is not supported (use ${Object.values(PATCH_TYPES).join(', ')})`);
}
