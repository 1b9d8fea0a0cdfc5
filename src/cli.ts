/**
 * The `rl-autoscaler` command: dispatches to the subcommands in src/commands/. bin/rl-autoscaler.js
 * calls `main`; exit codes: 0 success (and help), 1 failure, 2 wrong usage.
 */
import { COMMANDS } from './commands';
import { commandHelp, programHelp, usageLine, wantsHelp } from './commands/help';
import { UsageError } from './commands/types';

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(programHelp(COMMANDS));
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(programHelp(COMMANDS));
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`rl-autoscaler: unknown command ${JSON.stringify(name)}\n\n${programHelp(COMMANDS)}`);
    return 2;
  }
  if (wantsHelp(args)) {
    console.log(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`rl-autoscaler ${name}: ${err.message}\n${usageLine(command)} (see rl-autoscaler ${name} --help)`);
      return 2;
    }
    console.error(`rl-autoscaler ${name}: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.RL_AUTOSCALER_DEBUG) console.error(err);
    return 1;
  }
}
