/** Every CLI subcommand, in the order the help lists them. */
import type { CliCommand } from './types';
import { baselinesCommand } from './baselines';

export const COMMANDS: CliCommand[] = [baselinesCommand];
