/**
 * The `rl-autoscaler` command: dispatches to the subcommands in src/commands/.
 */
import { COMMANDS } from './commands';
import { UsageError } from './commands/types';

function help(): string {
  const lines = ['usage: rl-autoscaler <command> [options]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`rl-autoscaler: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`rl-autoscaler ${name}: ${err.message}\nusage: rl-autoscaler ${command.usage}`);
      return 2;
    }
    console.error(`rl-autoscaler ${name}: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.RL_AUTOSCALER_DEBUG) console.error(err);
    return 1;
  }
}
