// Vitest setup: keep the structured logger quiet so test output shows only the runner's report.
import { setLogLevel } from '../log.ts';

setLogLevel('silent');
