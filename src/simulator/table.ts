/**
 * Server-side printing for custom resources: when kubectl asks for a Table (`kubectl get`), the
 * columns come from the CRD's additionalPrinterColumns, as on a real API server. Built-in kinds
 * keep the plain list (kubectl then prints NAME and AGE itself).
 */
import { CRDS } from './resources';
import type { KubeObject } from './status';
import type { ObjectStore, ResourceType } from './store';

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** Whether the Accept header asks for a meta.k8s.io Table. */
export const wantsTable = (accept: string | undefined) => /as=Table/.test(accept ?? '');

/** The printer columns of a custom resource's served version, if its CRD declares any. */
export function printerColumns(store: ObjectStore, type: ResourceType): PrinterColumn[] | undefined {
  const crd = store.list(CRDS, undefined).find((c) => c.spec?.group === type.group && c.spec?.names?.plural === type.resource);
  const version = crd?.spec?.versions?.find((v: KubeObject) => v.name === type.version);
  const columns = version?.additionalPrinterColumns;
  return Array.isArray(columns) && columns.length > 0 ? columns : undefined;
}

/** Evaluates the JSONPath subset printer columns use: `.a.b`, `[0]` and `[?(@.key=="value")]`. */
export function evaluateJsonPath(object: unknown, jsonPath: string): unknown {
  const tokens = jsonPath.match(/\.[^.[]+|\[\?\(@\.[^)]*\)\]|\[\d+\]/g) ?? [];
  let nodes: unknown[] = [object];
  for (const token of tokens) {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (node === null || node === undefined) continue;
      if (token.startsWith('.')) next.push((node as Record<string, unknown>)[token.slice(1)]);
      else if (/^\[\d+\]$/.test(token)) next.push(Array.isArray(node) ? node[Number(token.slice(1, -1))] : undefined);
      else {
        const filter = /^\[\?\(@\.([\w.-]+)\s*==\s*["']?([^"')]*)["']?\)\]$/.exec(token);
        if (filter && Array.isArray(node)) next.push(...node.filter((item) => String(evaluateJsonPath(item, `.${filter[1]}`)) === filter[2]));
      }
    }
    nodes = next.filter((n) => n !== undefined);
  }
  return nodes.length === 0 ? undefined : nodes.length === 1 ? nodes[0] : nodes.join(',');
}

/** kubectl's short age form: 45s, 3m20s, 42m, 5h, 3d. */
export function humanAge(from: string, nowMs = Date.now()): string {
  const seconds = Math.max(0, Math.floor((nowMs - Date.parse(from)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}

export function toTable(items: KubeObject[], columns: PrinterColumn[], resourceVersion: string): KubeObject {
  const cell = (object: KubeObject, column: PrinterColumn) => {
    const value = evaluateJsonPath(object, column.jsonPath);
    if (value === undefined || value === null) return null;
    return column.type === 'date' && typeof value === 'string' ? humanAge(value) : value;
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
      ...columns.map((c) => ({ name: c.name, type: c.type === 'date' ? 'date' : c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    ],
    rows: items.map((object) => ({
      cells: [object.metadata?.name, ...columns.map((c) => cell(object, c))],
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}
