/**
 * The load options of `rl-autoscaler live`: a generator run in this process along a profile, or
 * one already running read from Prometheus, or none (whatever traffic the application has).
 */
import { checkProfileCovers, GeneratedLoad, ObservedLoad, serveLiveLoadMetrics, type LiveLoad, type LoadPacing } from '../live/live-load';
import type { LoadMetrics, MetricsServer } from '../load/metrics';
import { parseProfileSpec } from '../load/profile-spec';
import { SCENARIO_NAMES, type ScenarioName } from '../load/scenarios';
import { intOption } from './args';
import { UsageError } from './types';

/** What a run records of its load, so a resumed run drives the same one. */
export interface LiveLoadSetup {
  profile?: string;
  pacing: LoadPacing;
  stepSeconds: number;
  scenario: ScenarioName;
  app?: string;
  selector?: string;
  metricsPort: number;
}

type LoadOptionValues = { 'load-profile'?: string; 'load-pacing'?: string; 'load-step-s'?: string; 'load-scenario'?: string; app?: string; 'load-selector'?: string; 'load-metrics-port'?: string };

/**
 * Null without load options; a UsageError for an inconsistent or malformed one. On the simulator
 * `--app` may be left out: the load goes to the simulator's TeaStore web UI.
 */
export function liveLoadSetup(o: LoadOptionValues, where: { simulator?: boolean } = {}): LiveLoadSetup | null {
  if (!o['load-profile'] && !o['load-selector']) return null;
  if (o['load-profile'] && o['load-selector']) throw new UsageError('give --load-profile (run a generator here) or --load-selector (read one already running), not both');
  const pacing = o['load-pacing'] ?? 'per-step';
  if (pacing !== 'per-step' && pacing !== 'real-time') throw new UsageError(`--load-pacing must be per-step or real-time, got ${JSON.stringify(pacing)}`);
  const scenario = o['load-scenario'] ?? 'home';
  if (!(SCENARIO_NAMES as readonly string[]).includes(scenario)) throw new UsageError(`--load-scenario must be one of ${SCENARIO_NAMES.join(', ')}, got ${JSON.stringify(scenario)}`);
  if (o['load-profile']) {
    try {
      parseProfileSpec(o['load-profile']);
    } catch (err) {
      throw new UsageError(`--load-profile: ${(err as Error).message}`);
    }
    if (!o.app && !where.simulator) throw new UsageError("--load-profile needs --app URL, the application's base URL the load goes to");
  }
  if (o.app && !/^https?:\/\//.test(o.app)) throw new UsageError(`--app ${JSON.stringify(o.app)} must start with http:// or https://`);
  return {
    profile: o['load-profile'],
    pacing,
    stepSeconds: intOption(o['load-step-s'], 'load-step-s', 60),
    scenario: scenario as ScenarioName,
    app: o.app,
    selector: o['load-selector'],
    metricsPort: intOption(o['load-metrics-port'], 'load-metrics-port', 9464),
  };
}

/** A UsageError, before anything starts, when the profile ends before the run would. */
export function checkLoadCoversRun(setup: LiveLoadSetup | null, run: { steps: number; episodesOfAllPolicies: number; minStepSeconds: number }): void {
  if (!setup?.profile) return;
  try {
    checkProfileCovers(parseProfileSpec(setup.profile), { pacing: setup.pacing, steps: run.steps, stepSeconds: setup.stepSeconds, realTimeSeconds: run.episodesOfAllPolicies * run.steps * run.minStepSeconds });
  } catch (err) {
    throw new UsageError(`--load-profile: ${(err as Error).message}`);
  }
}

/** The generator's /metrics, served before Prometheus starts so it can be a scrape target. */
export async function serveGeneratorMetrics(setup: LiveLoadSetup | null, onSimulator: boolean): Promise<{ metrics: LoadMetrics; server: MetricsServer } | null> {
  if (!setup?.profile) return null;
  // On the simulator the local Prometheus scrapes loopback; a cluster's Prometheus needs a reachable port.
  const listen = onSimulator ? { port: 0, host: '127.0.0.1' } : { port: setup.metricsPort, host: '0.0.0.0' };
  return serveLiveLoadMetrics({ scenario: setup.scenario, profile: setup.profile }, listen);
}

export function startLiveLoad(setup: LiveLoadSetup | null, served: { metrics: LoadMetrics } | null, prometheusUrl: string, seed: number, simulatorAppUrl?: string): LiveLoad | undefined {
  if (!setup) return undefined;
  if (setup.profile && served) {
    const { profile, pacing, stepSeconds, scenario } = setup;
    const app = setup.app ?? simulatorAppUrl;
    if (!app) throw new UsageError("--load-profile needs --app URL, the application's base URL the load goes to");
    return new GeneratedLoad({ targetUrl: app, profile: parseProfileSpec(profile), pacing, stepSeconds, scenario, seed, prometheusUrl }, served.metrics);
  }
  return new ObservedLoad({ prometheusUrl, selector: setup.selector, scenario: setup.scenario });
}
