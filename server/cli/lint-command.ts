// `labwright lint` — placeholder until its issue lands.
import type { Command } from './main.ts';

export const lintCommand: Command = {
  summary: '(not implemented yet)',
  usage: 'labwright lint',
  run() {
    console.error('labwright lint: not implemented yet');
    return Promise.resolve(1);
  },
};
