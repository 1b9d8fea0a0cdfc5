/** The shapes of the CLI's subcommands and of the options they declare. */

/** One command-line option: what node:util parseArgs needs, plus what the help prints. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The option may be given several times (its value is then a list). */
  multiple?: boolean;
  default?: string | boolean;
  /** The value's placeholder in the help, e.g. `N`, `DIR`, `R,CPU,HEAP` (string options). */
  value?: string;
  /** One line for the help. */
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** What users type: a subcommand's name, its one-line summary, its options and examples. */
export interface CommandDefinition {
  name: string;
  summary: string;
  options: OptionTable;
  /** Typical invocations, printed under the options. */
  examples?: readonly string[];
}

export interface CliCommand extends CommandDefinition {
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Raised for wrong command-line usage: printed without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}
