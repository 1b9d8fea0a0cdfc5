/** Every CLI subcommand, in the order the help lists them. */
import type { CliCommand } from './types';
import { baselinesCommand } from './baselines';
import { clientCommand } from './client';
import { evaluateCommand } from './evaluate';
import { liveCommand } from './live';
import { operatorCommand } from './operator';
import { serveCommand } from './serve';
import { trainCommand } from './train';
import { simulatorCommand } from './simulator';

export const COMMANDS: CliCommand[] = [baselinesCommand, trainCommand, evaluateCommand, liveCommand, serveCommand, clientCommand, simulatorCommand, operatorCommand];
