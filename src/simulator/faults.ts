/** Fault injection: make the simulated API server fail the next N requests of a kind. */
import { ApiError } from './status';

export type RequestVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface FaultSpec {
  /** HTTP status to answer with, e.g. 409, 500, 503. */
  status: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Which verb fails (default: any). */
  verb?: RequestVerb;
  /** Which resource fails, e.g. 'deployments' (default: any). */
  resource?: string;
  message?: string;
}

interface ActiveFault extends Required<Omit<FaultSpec, 'verb' | 'resource' | 'message'>> {
  verb?: RequestVerb;
  resource?: string;
  message?: string;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];
  /** Requests answered with an injected fault so far. */
  injected = 0;

  failNext(spec: FaultSpec): void {
    if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) throw new Error(`fault status must be an HTTP error code 400..599, got ${spec.status}`);
    this.faults.push({ status: spec.status, count: spec.count ?? 1, verb: spec.verb, resource: spec.resource, message: spec.message });
  }

  clear(): void {
    this.faults = [];
  }

  /** The injected error for this request, if a fault matches (consuming one of its count). */
  take(verb: RequestVerb, resource: string): ApiError | undefined {
    const fault = this.faults.find((f) => f.count > 0 && (!f.verb || f.verb === verb) && (!f.resource || f.resource === resource));
    if (!fault) return undefined;
    fault.count--;
    this.faults = this.faults.filter((f) => f.count > 0);
    this.injected++;
    const message = fault.message ?? (fault.status === 409 ? `Operation cannot be fulfilled on ${resource}: the object has been modified; please apply your changes to the latest version and try again (injected fault)` : `injected fault: ${verb} ${resource} answered ${fault.status}`);
    return new ApiError(fault.status, message);
  }
}
