/**
 * Every CLI subcommand, in the order the help lists them. A command's implementation (and with it
 * TensorFlow.js, the Kubernetes client or Prometheus' client) is loaded only when it runs.
 */
import type { CliCommand, CommandDefinition } from './types';
import { BASELINES, CLIENT, COLLECT, EVALUATE, LIVE, LOAD, MODEL, OPERATOR, RUNNER, SERVE, SIMULATOR, SWEEP, TRAIN } from './definitions';

type Implementation = { run(args: string[]): Promise<number> };

function command(definition: CommandDefinition, load: () => Implementation): CliCommand {
  return { ...definition, run: (args) => load().run(args) };
}

/* eslint-disable @typescript-eslint/no-require-imports */
export const COMMANDS: CliCommand[] = [
  command(BASELINES, () => require('./baselines') as typeof import('./baselines')),
  command(TRAIN, () => require('./train') as typeof import('./train')),
  command(EVALUATE, () => require('./evaluate') as typeof import('./evaluate')),
  command(LIVE, () => require('./live') as typeof import('./live')),
  command(SERVE, () => require('./serve') as typeof import('./serve')),
  command(CLIENT, () => require('./client') as typeof import('./client')),
  command(SIMULATOR, () => require('./simulator') as typeof import('./simulator')),
  command(OPERATOR, () => require('./operator') as typeof import('./operator')),
  command(LOAD, () => require('./load') as typeof import('./load')),
  command(COLLECT, () => require('./collect') as typeof import('./collect')),
  command(SWEEP, () => require('./sweep') as typeof import('./sweep')),
  command(MODEL, () => require('./model') as typeof import('./model')),
  command(RUNNER, () => require('./runner') as typeof import('./runner')),
];
