/**
 * What one arrival does. A scenario is an async function that issues requests through the
 * session it is given (cookies are kept per session) and draws its random choices from the
 * session's seeded generator.
 */
import type { Rng } from '../random';
import type { Outcome } from './target';

export type HttpMethod = 'GET' | 'POST';

export interface RequestResult {
  ok: boolean;
  outcome: Outcome;
  status: number;
}

export interface ScenarioSession {
  /** Sends one request; `name` groups its latency in the statistics. Paths are relative to the target URL. */
  request(name: string, method: HttpMethod, path: string): Promise<RequestResult>;
  readonly rng: Rng;
}

/**
 * A scenario that is one fixed request and draws nothing at random may say so: the generator then
 * sends it without a session object or promises, which is most of its CPU time per request.
 */
export interface SingleRequest {
  name: string;
  method: HttpMethod;
  path: string;
}

export type Scenario = ((session: ScenarioSession) => Promise<void>) & { readonly singleRequest?: SingleRequest };
export type ScenarioName = 'home' | 'browse';

/** The original's first client: one GET of the web UI's home page. */
export const home: Scenario = Object.assign(
  async (session: ScenarioSession) => {
    await session.request('home', 'GET', '/');
  },
  { singleRequest: { name: 'home', method: 'GET', path: '/' } as const },
);

/** Python's randint: inclusive at both ends. */
function randint(rng: Rng, low: number, high: number): number {
  return low + rng.int(high - low + 1);
}

/**
 * The original's eight-request TeaStore session (locust_custom_load_shape/main.py): home, login
 * page, login as a random user, a category page, a product of that page, add it to the cart,
 * profile, logout. Later requests are sent even if an earlier one failed, as Locust does.
 */
export const browse: Scenario = async (session) => {
  const { rng } = session;
  await session.request('home', 'GET', '/');
  await session.request('login-page', 'GET', '/login');
  // The original sent a bare integer as the user name; TeaStore's users are named user1..user99.
  const user = randint(rng, 1, 99);
  await session.request('login', 'POST', `/loginAction?username=user${user}&password=password`);
  const page = randint(rng, 1, 5);
  const category = randint(rng, 2, 6);
  await session.request('category', 'GET', `/category?page=${page}&category=${category}`);
  const first = (category - 2) * 100 + 7 + (page - 1) * 20;
  const product = randint(rng, first, first + 19);
  await session.request('product', 'GET', `/product?id=${product}`);
  await session.request('add-to-cart', 'POST', `/cartAction?addToCart=&productid=${product}`);
  await session.request('profile', 'GET', '/profile');
  await session.request('logout', 'POST', '/loginAction?logout=');
};

export const SCENARIOS: Record<ScenarioName, Scenario> = { home, browse };
export const SCENARIO_NAMES: readonly ScenarioName[] = ['home', 'browse'];

/** Requests each built-in scenario sends per session, to turn a request rate into sessions per second. */
export const REQUESTS_PER_SESSION: Readonly<Record<ScenarioName, number>> = { home: 1, browse: 8 };

export function resolveScenario(scenario: ScenarioName | Scenario): Scenario {
  return typeof scenario === 'function' ? scenario : SCENARIOS[scenario];
}
