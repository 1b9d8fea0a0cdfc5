/** Every CLI subcommand, in the order the help lists them. */
import type { CliCommand } from './types';
import { baselinesCommand } from './baselines';
import { clientCommand } from './client';
import { serveCommand } from './serve';
import { twinCommand } from './twin';

export const COMMANDS: CliCommand[] = [baselinesCommand, serveCommand, clientCommand, twinCommand];
