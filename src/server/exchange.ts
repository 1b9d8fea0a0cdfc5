/**
 * The request and response a route handler sees: node:http's IncomingMessage and ServerResponse,
 * or the lean HTTP layer's (lean-http.ts), which has read the whole body already. Handlers are
 * written once against these, so both layers run the very same route logic.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** A request whose body the lean layer has read in full before the handler runs. */
export interface BufferedRequest {
  readonly method: string;
  readonly url: string;
  /** Lower-case names, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly bufferedBody: Buffer;
}

export type HttpRequest = IncomingMessage | BufferedRequest;

/** The part of node:http's ServerResponse the handlers use. */
export interface Reply {
  statusCode: number;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(body?: string): unknown;
}

export function isBuffered(req: HttpRequest): req is BufferedRequest {
  return (req as BufferedRequest).bufferedBody !== undefined;
}
