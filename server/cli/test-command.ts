// `labwright test` — placeholder until its issue lands.
import type { Command } from './main.ts';

export const testCommand: Command = {
  summary: '(not implemented yet)',
  usage: 'labwright test',
  run() {
    console.error('labwright test: not implemented yet');
    return Promise.resolve(1);
  },
};
