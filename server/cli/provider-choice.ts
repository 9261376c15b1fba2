// Which provider `labwright serve` gives lab hosts from (LABWRIGHT_PROVIDER), and the line it prints at
// start about them: local nspawn machines (how isolated), or an inventory (which environments answer).
import { cachedImage } from '../../provisioning/image/build-image.ts';
import { InventoryError, loadInventory } from '../../provisioning/inventory/inventory-file.ts';
import { createInventoryProvider } from '../../provisioning/inventory/inventory-provider.ts';
import type { InventoryProvider } from '../../provisioning/inventory/inventory-provider.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import { createLxdProvider } from '../../provisioning/lxd/lxd-provider.ts';
import type { LxdProvider } from '../../provisioning/lxd/lxd-provider.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import type { ComposedProvider } from '../compose.ts';
import type { Config } from '../config.ts';
import { ConfigError } from '../config.ts';
import { logger } from '../log.ts';

export interface ChosenProvider {
  provider: ComposedProvider;
  /** One line (or a few) for the start banner; probes the hosts, so it may take a few seconds. */
  banner: () => Promise<string>;
}

export function chooseProvider(config: Readonly<Config>): ChosenProvider {
  if (config.provider === 'inventory') {
    const file = config.inventoryFile!;
    let provider: InventoryProvider;
    try {
      provider = createInventoryProvider(loadInventory(file, config.sshAuthSock), { dataDir: config.dataDir, log: logger('inventory-provider') });
    } catch (e) {
      if (e instanceof InventoryError) throw new ConfigError(`the inventory LABWRIGHT_INVENTORY=${file} has problems:\n${e.problems.join('\n')}`);
      throw e;
    }
    return { provider, banner: () => inventoryBanner(provider) };
  }
  if (config.provider === 'lxd') {
    const provider = createLxdProvider(config, { log: logger('lxd-provider') });
    return { provider, banner: () => lxdBanner(provider, config) };
  }
  const provider = createLocalProvider(config, { log: logger('local-provider') });
  return { provider, banner: () => isolationBanner(provider, config) };
}

/** Each environment of the inventory, probed now (SSH only; a lab's services are probed when it is handed out). */
export async function inventoryBanner(provider: InventoryProvider): Promise<string> {
  const states = await provider.probeAll({ etcd: 'none', docker: false });
  const free = states.filter((s) => s.state === 'free').length;
  const lines = states.map((s) =>
    s.state === 'free' ? `  ${s.name}: free` : s.state === 'held' ? `  ${s.name}: held (${s.owner ?? s.id})` : `  ${s.name}: ${s.state === 'down' ? 'DOWN' : 'RESET FAILED'}, not handed out (${s.problem})`,
  );
  return [`Lab hosts: inventory ${provider.inventory.file}, ${states.length} environment(s), ${free} free:`, ...lines].join('\n');
}

/** How lab hosts run, probed now (the kernel and the image's filesystem), so a refusal is no surprise later. */
async function isolationBanner(provider: LocalProvider, config: Readonly<Config>): Promise<string> {
  if (provider.isolation === 'privileged') return 'Lab hosts: privileged containers (root in a host is root on this machine; LABWRIGHT_HOST_ISOLATION=userns to change)';
  const problem = await provider.isolationProblem((await cachedImage(config.cacheDir))?.rootfs).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
  return problem
    ? `Lab hosts: UNAVAILABLE, unprivileged hosts cannot run here (${problem}); set LABWRIGHT_HOST_ISOLATION=privileged to run them as privileged containers`
    : 'Lab hosts: unprivileged (each host in its own user namespace and id range; LABWRIGHT_HOST_ISOLATION=userns)';
}

/** Which LXD hosts come from (starting the local daemon now, so a missing package is said at start) and whether VMs are possible. */
export async function lxdBanner(provider: LxdProvider, config: Readonly<Config>): Promise<string> {
  const where = config.lxdUrl ? `remote LXD ${config.lxdUrl}` : `LXD daemon here (LXD_DIR=${config.lxdDir})`;
  try {
    const vm = await provider.vmProblem();
    return `Lab hosts: unprivileged LXD containers, each in its own id range, from the ${where}; ${vm ? `no VMs (${vm})` : 'VMs possible where a lab asks'}`;
  } catch (e) {
    return `Lab hosts: UNAVAILABLE, the ${where} cannot be used: ${e instanceof Error ? e.message : String(e)}`;
  }
}
