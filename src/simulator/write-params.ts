/**
 * The query parameters of a write that change how it is done, as a real API server reads them:
 * `dryRun=All` (validate and answer, store nothing) and `fieldValidation` (Strict refuses unknown
 * fields with 400, Warn answers with a Warning header per field, Ignore drops them silently).
 */
import type { ServerResponse } from 'node:http';
import { unknownFields } from './field-schema';
import { ApiError, type KubeObject } from './status';
import type { ResourceType } from './store';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface WriteParams {
  dryRun: boolean;
  fieldValidation: FieldValidation;
}

export function writeParams(query: URLSearchParams): WriteParams {
  const dryRuns = query.getAll('dryRun');
  for (const value of dryRuns) {
    if (value !== 'All') throw new ApiError(400, `Invalid dryRun value ${JSON.stringify(value)}: supported values: "All"`);
  }
  const validation = query.get('fieldValidation') ?? '';
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(validation)) {
    throw new ApiError(400, `fieldValidation ${JSON.stringify(validation)} is invalid: valid values are "Ignore", "Warn" or "Strict"`);
  }
  // A real server's default is Warn for requests that do not say.
  return { dryRun: dryRuns.length > 0, fieldValidation: (validation || 'Warn') as FieldValidation };
}

/**
 * Checks `object` against the type's known fields: with Strict, unknown fields are a 400 naming
 * them all; with Warn, each becomes a `Warning` header on the response.
 */
export function checkFields(type: ResourceType, object: KubeObject, params: WriteParams, res: ServerResponse): void {
  if (!type.schema || params.fieldValidation === 'Ignore') return;
  const unknown = unknownFields(object, type.schema).sort();
  if (unknown.length === 0) return;
  if (params.fieldValidation === 'Strict') {
    throw new ApiError(400, `strict decoding error: ${unknown.map((f) => `unknown field ${JSON.stringify(f)}`).join(', ')}`);
  }
  res.setHeader('Warning', unknown.map((f) => `299 - ${JSON.stringify(`unknown field ${JSON.stringify(f)}`)}`));
}

/** A delete's dryRun: in the query, or (as kubectl sends it) in the DeleteOptions body. */
export function deleteDryRun(query: URLSearchParams, body: unknown): boolean {
  const options = body && typeof body === 'object' ? (body as KubeObject) : {};
  const inBody = options.dryRun === undefined ? [] : Array.isArray(options.dryRun) ? options.dryRun : [options.dryRun];
  for (const value of inBody) {
    if (value !== 'All') throw new ApiError(400, `Invalid dryRun value ${JSON.stringify(value)} in DeleteOptions: supported values: "All"`);
  }
  return writeParams(query).dryRun || inBody.length > 0;
}
