// What provisioning logs through. It owns no logger: the server, CLI and benchmarks pass theirs in (the
// server's pino logger fits this shape), so provisioning imports nothing from server/; without one it is quiet.

/** A log call: fields then a message (structured), or a message alone. */
export interface LogCall {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

export interface ProvisionLogger {
  debug: LogCall;
  info: LogCall;
  warn: LogCall;
  error: LogCall;
  /** A logger whose lines carry these fields too (e.g. the environment id). */
  child(fields: Record<string, unknown>): ProvisionLogger;
}

const nothing = (): void => undefined;

/** The default where no logger is passed (unit tests, library use). */
export const quietLogger: ProvisionLogger = { debug: nothing, info: nothing, warn: nothing, error: nothing, child: () => quietLogger };
