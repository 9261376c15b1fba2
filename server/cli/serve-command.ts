// `labwright serve`: loads the config and the labs, starts the server, prints its URL, and shuts
// down cleanly (closing every connection and the folder watch) on SIGINT / SIGTERM.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { composeServer } from '../compose.ts';
import type { ComposedServer } from '../compose.ts';
import type { Config } from '../config.ts';
import { loadConfig, parseSoloSetting } from '../config.ts';
import { soloMode } from '../http/solo-mode.ts';
import { LAB_FILE } from '../labs/lab-catalog.ts';
import { storageFailureOf } from '../store/store-error.ts';
import { logger, setLogLevel } from '../log.ts';
import type { Command } from './command.ts';
import { chooseProvider } from './provider-choice.ts';
import { UsageError } from './command.ts';

const USAGE = `labwright serve [--port N] [--labs DIR] [--base-path P] [--bind ADDR]
                [--public-url URL] [--trusted-proxy ADDR] [--solo on|off|auto]

  --port N         port to listen on (default 8080, env LABWRIGHT_PORT; 0 picks a free one)
  --labs DIR       folder of labs, one <id>/lab.md each, anywhere (absolute or relative
                   to the current folder; default: Labwright's own labs/, env LABWRIGHT_LABS_DIR)
  --base-path P    serve everything under this path, e.g. /labwright/ (env LABWRIGHT_BASE_PATH)
  --bind ADDR      address to bind (default 127.0.0.1, env LABWRIGHT_BIND)
  --public-url URL where attendees reach the server through a reverse proxy or a DNS name, e.g.
                   https://labs.example.org/ (comma-separated for several; env LABWRIGHT_PUBLIC_URL).
                   The server answers only to these names and its own addresses (loopback when
                   bound to loopback; every interface address and the host name when bound to
                   0.0.0.0); any other Host gets 421, so DNS rebinding gets nothing.
  --trusted-proxy ADDR
                   address or CIDR of a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto
                   are believed (comma-separated; env LABWRIGHT_TRUSTED_PROXY); from anyone else
                   they are ignored
  --solo MODE      solo mode, where anyone who opens the page gets hosts without logging in
                   (env LABWRIGHT_SOLO): auto (default) is on only when bound to loopback with no
                   public URL and no trusted proxy; on / off force it

Other settings come from the environment (LABWRIGHT_ORIGINS, LABWRIGHT_LOG_LEVEL, …).`;

function parseFlags(args: string[]): Partial<Config> {
  const out: Partial<Config> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--port': {
        const raw = value();
        const port = Number(raw);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a number between 0 and 65535, got "${raw}"`);
        out.port = port;
        break;
      }
      case '--labs':
        // Any folder, anywhere: relative to where labwright was started.
        out.labsDir = path.resolve(value());
        break;
      case '--base-path':
        out.basePath = value();
        break;
      case '--bind':
        out.bind = value();
        break;
      case '--public-url':
        out.publicUrls = value().split(',').map((u) => u.trim()).filter(Boolean);
        break;
      case '--trusted-proxy':
        out.trustedProxies = value().split(',').map((a) => a.trim()).filter(Boolean);
        break;
      case '--solo':
        out.solo = parseSoloSetting(value());
        break;
      default:
        throw new UsageError(`unknown option "${flag}"; see labwright serve --help`);
    }
  }
  return out;
}

export const serveCommand: Command = {
  summary: 'start the Labwright server (lab list, lab pages, WebSocket gateway)',
  usage: USAGE,
  async run(args) {
    const overrides = parseFlags(args);
    const config = loadConfig(process.env, overrides);
    setLogLevel(config.logLevel);
    if (!existsSync(config.labsDir)) throw new UsageError(`labs folder not found: ${config.labsDir}`);
    if (existsSync(path.join(config.labsDir, LAB_FILE))) {
      throw new UsageError(`${config.labsDir} is one lab (it holds ${LAB_FILE}); --labs takes the folder that holds lab folders: --labs ${path.dirname(config.labsDir)}`);
    }
    const { provider, banner } = chooseProvider(config);
    let composed: ComposedServer;
    try {
      composed = await composeServer({
        config,
        provider,
        onRecoverFailure: (e) => console.error(`labwright serve: could not check for hosts left by an earlier run: ${e instanceof Error ? e.message : String(e)}`),
      });
    } catch (e) {
      // Only listen's own refusals are about the port; an EACCES elsewhere (the data folder) is not.
      const { code, syscall } = e as NodeJS.ErrnoException;
      if (syscall !== 'listen') throw e;
      if (code === 'EADDRINUSE') throw new UsageError(`port ${config.port} is already in use; pick another with --port`);
      if (code === 'EACCES') throw new UsageError(`not allowed to listen on ${config.bind}:${config.port}`);
      throw e;
    }
    const { server: running, stack, catalog } = composed;
    const labs = catalog.list();
    console.log(`Labwright is serving ${labs.length} lab(s) from ${config.labsDir}`);
    const open = config.publicUrls[0] ?? running.url;
    console.log(`Open ${open}`);
    console.log(`Instructor dashboard: ${open}#/instructor`);
    console.log(`Answers to: ${running.origins.join(', ')}${config.publicUrls.length === 0 ? ' (another name: set LABWRIGHT_PUBLIC_URL)' : ''}`);
    if (config.trustedProxies.length > 0) console.log(`Trusted proxies (their X-Forwarded-For/-Proto are believed): ${config.trustedProxies.join(', ')}`);
    const solo = soloMode(config);
    console.log(
      solo.on
        ? `Solo mode: on (anyone who can open this page gets hosts, no login; ${solo.reason})`
        : `Solo mode: off (attendees join with a workshop link; ${solo.reason}; LABWRIGHT_SOLO=on to change)`,
    );
    console.log(await banner());
    // Printed once, only when generated: a configured token is the operator's to keep.
    if (stack.credential.generated) console.log(`Instructor credential (this run only; set LABWRIGHT_INSTRUCTOR_TOKEN to fix it): ${stack.credential.token}`);
    // A write the disk refused in background work (a timer freeing hosts, say) is logged and the
    // server runs on; requests and WebSocket messages already answer such failures themselves.
    const onRejection = (e: unknown): void => {
      const failure = storageFailureOf(e, config.dataDir);
      if (!failure) throw e;
      logger('serve').error({ failure, err: e instanceof Error ? e.message : String(e) }, 'background write failed');
    };
    process.on('unhandledRejection', onRejection);
    return new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        console.log(`\n${signal}: shutting down`);
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        composed.close().then(
          () => resolve(0),
          () => resolve(1),
        );
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
  },
};
