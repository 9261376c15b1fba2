// `labwright serve` — placeholder until its issue lands.
import type { Command } from './main.ts';

export const serveCommand: Command = {
  summary: '(not implemented yet)',
  usage: 'labwright serve',
  run() {
    console.error('labwright serve: not implemented yet');
    return Promise.resolve(1);
  },
};
