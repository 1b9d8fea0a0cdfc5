/** A subcommand of the `rl-autoscaler` CLI. */
export interface CliCommand {
  name: string;
  /** One line for the help text, e.g. `baselines --start row:558|random-row [--json]`. */
  usage: string;
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Raised for wrong command-line usage: printed without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}
