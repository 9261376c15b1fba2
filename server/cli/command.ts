// What every `labwright` subcommand module exports, and the one error type they throw for bad input.

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Thrown by commands for a bad invocation or input: printed as one line, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}
