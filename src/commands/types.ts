/** A subcommand of the `rl-autoscaler` CLI and the options it declares. */

/** One command-line option: what node:util parseArgs needs, plus what the help prints. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  /** The value's placeholder in the help, e.g. `N`, `DIR`, `R,CPU,HEAP` (string options). */
  value?: string;
  /** One line for the help. */
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

export interface CliCommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Every option the command accepts; `--help` prints them. */
  options: OptionTable;
  /** Typical invocations, printed under the options. */
  examples?: string[];
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Raised for wrong command-line usage: printed without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}
