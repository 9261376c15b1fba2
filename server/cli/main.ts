// `labwright` command line: dispatches to one module per command; `--help` is the documentation.
import { ConfigError } from '../config.ts';
import { StoreError } from '../store/store-error.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';

/** Commands load lazily so that `labwright lint` does not pay for ssh2 or the provider. */
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve-command.ts')).serveCommand,
  lint: async () => (await import('./lint-command.ts')).lintCommand,
  env: async () => (await import('./env-command.ts')).envCommand,
  test: async () => (await import('./test-command.ts')).testCommand,
  new: async () => (await import('./new-command.ts')).newCommand,
};


async function help(): Promise<string> {
  const lines = ['labwright — hands-on multi-host cluster workshops', '', 'Usage: labwright <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const c = await load();
    lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  }
  lines.push('', 'Run `labwright <command> --help` for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`labwright: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${command.summary}\n\nUsage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`labwright ${name}: ${e.message}`);
      return 2;
    }
    // Bad state the operator must fix (a foreign database, a full or read-only disk): what and
    // where, in one line, no stack trace.
    if (e instanceof StoreError) {
      console.error(`labwright ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
