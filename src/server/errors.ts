/**
 * The one error type the HTTP layer turns into a response: a status, a machine-readable code, a
 * message that says what was wrong, and the request field it concerns (when there is one).
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

/** 400 for a request field that is missing, of the wrong type or out of range. */
export function invalidField(field: string, message: string): HttpError {
  return new HttpError(400, 'invalid_field', `${field}: ${message}`, field);
}
