/** Every CLI subcommand, in the order the help lists them. */
import type { CliCommand } from './types';
import { baselinesCommand } from './baselines';
import { clientCommand } from './client';
import { serveCommand } from './serve';

export const COMMANDS: CliCommand[] = [baselinesCommand, serveCommand, clientCommand];
