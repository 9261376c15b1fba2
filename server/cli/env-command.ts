// `labwright env` — placeholder until its issue lands.
import type { Command } from './main.ts';

export const envCommand: Command = {
  summary: '(not implemented yet)',
  usage: 'labwright env',
  run() {
    console.error('labwright env: not implemented yet');
    return Promise.resolve(1);
  },
};
