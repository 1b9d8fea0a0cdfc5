/** Label and field selectors in the syntax of the Kubernetes API (`a=b,c!=d,e in (x,y),!f`). */
import { ApiError, type KubeObject } from './status';

export type Matcher = (object: KubeObject) => boolean;

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRequirement(term: string, what: string): Requirement {
  let m = /^([^\s=!()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) };
  m = /^([^\s=!()]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(term);
  if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
  m = /^!\s*([^\s=!()]+)$/.exec(term);
  if (m) return { key: m[1], op: '!exists' };
  m = /^([^\s=!()]+)$/.exec(term);
  if (m) return { key: m[1], op: 'exists' };
  throw new ApiError(400, `unable to parse requirement ${JSON.stringify(term)} of ${what}`);
}

function matcherOf(requirements: Requirement[], valueOf: (object: KubeObject, key: string) => string | undefined): Matcher {
  return (object) =>
    requirements.every((r) => {
      const value = valueOf(object, r.key);
      switch (r.op) {
        case 'exists':
          return value !== undefined;
        case '!exists':
          return value === undefined;
        case 'in':
          return value !== undefined && r.values.includes(value);
        case 'notin':
          return value === undefined || !r.values.includes(value);
      }
    });
}

export function parseLabelSelector(text: string | null | undefined): Matcher {
  if (!text) return () => true;
  const requirements = splitTopLevel(text).map((t) => parseRequirement(t, 'labelSelector'));
  return matcherOf(requirements, (object, key) => object.metadata?.labels?.[key]);
}

/** Field selectors support the equality forms on any dotted path (metadata.name, status.phase, ...). */
export function parseFieldSelector(text: string | null | undefined): Matcher {
  if (!text) return () => true;
  const requirements = splitTopLevel(text).map((t) => parseRequirement(t, 'fieldSelector'));
  for (const r of requirements) {
    if (r.op === 'exists' || r.op === '!exists') throw new ApiError(400, `fieldSelector ${JSON.stringify(text)}: only =, == and != are supported`);
  }
  return matcherOf(requirements, (object, key) => {
    let value: any = object;
    for (const part of key.split('.')) value = value?.[part];
    if (value === undefined || value === null) return key === 'spec.nodeName' || key === 'status.phase' ? '' : undefined;
    return String(value);
  });
}

/** A LabelSelector object ({matchLabels, matchExpressions}) as selector text. */
export function labelSelectorText(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined): string {
  const terms: string[] = [];
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) terms.push(`${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') terms.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
    else if (op === 'exists') terms.push(e.key);
    else if (op === 'doesnotexist') terms.push(`!${e.key}`);
  }
  return terms.join(',');
}
