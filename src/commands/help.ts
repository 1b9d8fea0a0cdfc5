/** Help texts of the CLI: the command list and each command's usage, options and examples. */
import type { CliCommand, OptionSpec } from './types';

const PROGRAM = 'rl-autoscaler';

function optionLabel(name: string, spec: OptionSpec): string {
  return spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.value ?? 'VALUE'}`;
}

function optionHelp(spec: OptionSpec): string {
  return spec.type === 'string' && spec.default !== undefined && spec.default !== '' ? `${spec.help} (default: ${spec.default})` : spec.help;
}

/** Two columns, the second aligned, e.g. option labels and their help. */
function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

export function programHelp(commands: readonly CliCommand[]): string {
  return [
    `usage: ${PROGRAM} <command> [options]`,
    '',
    'commands:',
    ...columns(commands.map((c) => [c.name, c.summary])),
    '',
    `${PROGRAM} <command> --help prints a command's options.`,
  ].join('\n');
}

export function usageLine(command: CliCommand): string {
  return `usage: ${PROGRAM} ${command.name} [options]`;
}

export function commandHelp(command: CliCommand): string {
  const rows: [string, string][] = Object.entries(command.options).map(([name, spec]) => [optionLabel(name, spec), optionHelp(spec)]);
  rows.push(['-h, --help', 'print this help']);
  const lines = [usageLine(command), '', `${command.summary}.`, '', 'options:', ...columns(rows)];
  if (command.examples?.length) lines.push('', 'examples:', ...command.examples.map((e) => `  ${PROGRAM} ${command.name} ${e}`));
  return lines.join('\n');
}

/** True when the arguments ask for help (`-h` or `--help` anywhere among them). */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}
