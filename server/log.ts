// The one structured logger: JSON lines on stderr; child loggers carry session / lab / env ids.
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export const rootLogger: Logger = pino({ level: 'info', base: { app: 'labwright' } }, pino.destination(2));

/** Set once from the config at start (and to `silent` by the unit-test setup). */
export function setLogLevel(level: string): void {
  rootLogger.level = level;
}

export const logger = (component: string, bindings: Record<string, unknown> = {}): Logger =>
  rootLogger.child({ component, ...bindings });
