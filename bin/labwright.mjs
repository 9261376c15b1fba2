#!/usr/bin/env node
// Entry point of the `labwright` CLI: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli/main.ts');
// Exit once the command is done (serve returns after its shutdown): a client library's socket to a
// lab host that was just destroyed can stay half-open and would keep the process alive.
process.exit(await main(process.argv.slice(2)));
