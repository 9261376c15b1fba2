// The one wiring of a running Labwright: config + labs folder + provider → the workshop stack and a
// listening server, started and stopped in the order `labwright serve` ships. serve, the e2e server,
// the benches' server and the dashboard demo all start through here, so each tests what ships.
import type { Provider } from '../provisioning/provider.ts';
import type { RunningServer } from './app.ts';
import { startServer } from './app.ts';
import type { Config } from './config.ts';
import { catalogViews } from './http/catalog-views.ts';
import type { LabViewSource } from './http/lab-source.ts';
import type { LabCatalog } from './labs/lab-catalog.ts';
import { createLabCatalog } from './labs/lab-catalog.ts';
import { logger } from './log.ts';
import { migrationLabs } from './labs/migration-labs.ts';
import { openDatabase } from './store/database.ts';
import type { WorkshopStack, WorkshopStackOptions } from './workshops/workshop-stack.ts';
import { createWorkshopStack } from './workshops/workshop-stack.ts';

/** A provider that can reap what a crashed run half-made (the local one); others have nothing to reap. */
export type ComposedProvider = Provider & { recover?: () => Promise<unknown> };

export interface ComposeOptions {
  /** Port, bind address, base path, data and labs folders, limits: all of it from here. */
  config: Readonly<Config>;
  /** Where lab hosts come from: local nspawn machines for serve and e2e; one fixed environment for the benches; a fake for the demo. */
  provider: ComposedProvider;
  /** Told when provider.recover() fails (default: logged); the server starts anyway. */
  onRecoverFailure?: (e: unknown) => void;
  /** How long the labs folder must be quiet before edits are reloaded (e2e: shorter, tests edit labs). */
  catalogDebounceMs?: number;
  /** See WorkshopStackOptions. */
  idleReleaseMs?: WorkshopStackOptions['idleReleaseMs'];
  recheckMs?: WorkshopStackOptions['recheckMs'];
  sessionName?: WorkshopStackOptions['sessionName'];
}

export interface ComposedServer {
  readonly server: RunningServer;
  readonly stack: WorkshopStack;
  readonly catalog: LabCatalog;
  readonly labs: LabViewSource;
  /** Stops the folder watch, then the server (every connection), then the stack (timers, hosts, store). */
  close(): Promise<void>;
}

export async function composeServer(opts: ComposeOptions): Promise<ComposedServer> {
  const { config } = opts;
  // A data folder that cannot be used (foreign or damaged database, full or read-only disk) stops
  // here with one line saying what to do, before anything is written or any host touched.
  // Migrations that re-key progress read the labs as they are now.
  openDatabase(config.dataDir, { labs: migrationLabs(config.labsDir) }).close();
  const catalog = await createLabCatalog(config.labsDir, opts.catalogDebounceMs !== undefined ? { debounceMs: opts.catalogDebounceMs } : {});
  const labs = catalogViews(catalog);
  // Half-made hosts of a crashed run are reaped; live ones are listed again. stack.start() then
  // decides which still have an owner: a running workshop's attendees keep theirs, a solo page
  // gets LABWRIGHT_RECONNECT_GRACE_SECONDS to come back, a dead warm pool's are destroyed.
  const onRecoverFailure = opts.onRecoverFailure ?? ((e: unknown) => logger('compose').warn({ err: e instanceof Error ? e.message : String(e) }, 'could not check for hosts left by an earlier run'));
  if (opts.provider.recover) await opts.provider.recover().catch(onRecoverFailure);
  // Durable state, solo sessions and workshops: each browser session gets its own hosts for the
  // lab it opens; after a crash they are re-adopted, and progress survives in dataDir.
  const stack = createWorkshopStack({
    config,
    catalog,
    labs,
    provider: opts.provider,
    ...(opts.idleReleaseMs !== undefined ? { idleReleaseMs: opts.idleReleaseMs } : {}),
    ...(opts.recheckMs !== undefined ? { recheckMs: opts.recheckMs } : {}),
    ...(opts.sessionName ? { sessionName: opts.sessionName } : {}),
  });
  let server: RunningServer;
  try {
    await stack.start();
    server = await startServer(config, { labs: stack.labs, ...stack.appDeps });
  } catch (e) {
    catalog.close();
    await stack.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    server,
    stack,
    catalog,
    labs: stack.labs,
    close() {
      closing ??= (async () => {
        catalog.close();
        await server.close();
        await stack.close();
      })();
      return closing;
    },
  };
}
