import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('reads the reconnect grace in seconds, a few minutes by default, and refuses nonsense', () => {
    expect(loadConfig({}).reconnectGraceMs).toBe(300_000);
    expect(loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '30' }).reconnectGraceMs).toBe(30_000);
    expect(loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '0' }).reconnectGraceMs).toBe(0);
    expect(() => loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '5m' })).toThrow(ConfigError);
    expect(() => loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '-1' })).toThrow(/LABWRIGHT_RECONNECT_GRACE_SECONDS must be an integer between 0 and 86400/);
  });
});

describe('loadConfig: provider', () => {
  it('is local by default; inventory needs its file and no warm pool', () => {
    expect(loadConfig({})).toMatchObject({ provider: 'local', inventoryFile: undefined });
    expect(loadConfig({ LABWRIGHT_PROVIDER: 'inventory', LABWRIGHT_INVENTORY: 'inv.yaml', SSH_AUTH_SOCK: '/run/a.sock' })).toMatchObject({
      provider: 'inventory',
      inventoryFile: `${process.cwd()}/inv.yaml`,
      sshAuthSock: '/run/a.sock',
    });
    expect(() => loadConfig({ LABWRIGHT_PROVIDER: 'inventory' })).toThrow(/LABWRIGHT_PROVIDER=inventory needs LABWRIGHT_INVENTORY/);
    expect(() => loadConfig({ LABWRIGHT_INVENTORY: 'inv.yaml' })).toThrow(/LABWRIGHT_PROVIDER is not inventory/);
    expect(() => loadConfig({ LABWRIGHT_PROVIDER: 'inventory', LABWRIGHT_INVENTORY: 'x', LABWRIGHT_POOL_SIZE: '2' })).toThrow(/LABWRIGHT_POOL_SIZE must be 0/);
    expect(() => loadConfig({ LABWRIGHT_PROVIDER: 'kvm' })).toThrow(/LABWRIGHT_PROVIDER must be local, lxd or inventory, got "kvm"/);
  });

  it('selects lxd with its own daemon under the cache directory unless a remote URL (with its certificate) is given', () => {
    expect(loadConfig({ LABWRIGHT_PROVIDER: 'lxd', LABWRIGHT_CACHE_DIR: '/c' })).toMatchObject({ provider: 'lxd', lxdDir: '/c/lxd', lxdPoolGb: 50 });
    expect(loadConfig({ LABWRIGHT_PROVIDER: 'lxd', LABWRIGHT_LXD_DIR: '/l' }).lxdDir).toBe('/l');
    expect(() => loadConfig({ LABWRIGHT_PROVIDER: 'lxd', LABWRIGHT_LXD_URL: 'https://lxd.example:8443' })).toThrow(/LABWRIGHT_LXD_URL needs LABWRIGHT_LXD_CERT/);
    expect(() => loadConfig({ LABWRIGHT_PROVIDER: 'lxd', LABWRIGHT_LXD_URL: 'http://lxd.example' })).toThrow(/must be https/);
    expect(() => loadConfig({ LABWRIGHT_LXD_CERT: '/x.pem' })).toThrow(/LABWRIGHT_LXD_URL is not/);
  });
});

describe('loadConfig: public URL, trusted proxies, solo mode', () => {
  it('normalises public URLs to origin + base path, from the environment or flags', () => {
    expect(loadConfig({}).publicUrls).toEqual([]);
    expect(loadConfig({ LABWRIGHT_PUBLIC_URL: 'https://Labs.Example.org:443, http://lab.test:8000/' }).publicUrls).toEqual(['https://labs.example.org/', 'http://lab.test:8000/']);
    expect(loadConfig({ LABWRIGHT_PUBLIC_URL: 'https://labs.example.org/lw' }, { basePath: '/lw/' }).publicUrls).toEqual(['https://labs.example.org/lw/']);
    expect(loadConfig({}, { publicUrls: ['https://x.test'], basePath: '/lw' }).publicUrls).toEqual(['https://x.test/lw/']);
  });

  it('refuses a public URL that is not one, with a clear ConfigError', () => {
    expect(() => loadConfig({ LABWRIGHT_PUBLIC_URL: 'labs.example.org' })).toThrow(/LABWRIGHT_PUBLIC_URL \(--public-url\) must be a URL such as https:\/\/labs.example.org\/, got "labs.example.org"/);
    expect(() => loadConfig({ LABWRIGHT_PUBLIC_URL: 'ftp://labs.example.org/' })).toThrow(ConfigError);
    expect(() => loadConfig({ LABWRIGHT_PUBLIC_URL: 'https://u:p@labs.example.org/' })).toThrow(/user, query or fragment/);
    expect(() => loadConfig({ LABWRIGHT_PUBLIC_URL: 'https://labs.example.org/other/' }, { basePath: '/lw/' })).toThrow(/must be \/ or the base path \/lw\//);
  });

  it('reads trusted proxies as addresses or CIDRs and refuses anything else', () => {
    expect(loadConfig({ LABWRIGHT_TRUSTED_PROXY: '127.0.0.1, 10.0.0.0/8,FD00::/8' }).trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    for (const bad of ['proxy.example', '10.0.0.0/33', '::1/129', '1.2.3.4/8/9', '300.1.1.1']) {
      expect(() => loadConfig({ LABWRIGHT_TRUSTED_PROXY: bad })).toThrow(/LABWRIGHT_TRUSTED_PROXY \(--trusted-proxy\) must list addresses or CIDRs/);
    }
  });

  it('reads solo mode as auto, on or off', () => {
    expect(loadConfig({}).solo).toBe('auto');
    expect(loadConfig({ LABWRIGHT_SOLO: 'on' }).solo).toBe('on');
    expect(() => loadConfig({ LABWRIGHT_SOLO: 'yes' })).toThrow(/LABWRIGHT_SOLO \(--solo\) must be on, off or auto/);
  });

  it('takes step snapshots unless LABWRIGHT_STEP_SNAPSHOTS=0', () => {
    expect(loadConfig({}).stepSnapshots).toBe(true);
    expect(loadConfig({ LABWRIGHT_STEP_SNAPSHOTS: '0' }).stepSnapshots).toBe(false);
    expect(() => loadConfig({ LABWRIGHT_STEP_SNAPSHOTS: 'maybe' })).toThrow(/LABWRIGHT_STEP_SNAPSHOTS must be 1 or 0/);
  });

  it('reads the host limits with defaults the shipped labs fit in, and refuses nonsense', () => {
    const c = loadConfig({});
    expect([c.hostMemoryMb, c.hostCpus, c.hostPids, c.hostDiskGb, c.allowUnlimitedHosts]).toEqual([1024, 0, 4096, 4, false]);
    const set = loadConfig({ LABWRIGHT_HOST_MEMORY_MB: '2048', LABWRIGHT_HOST_CPUS: '1.5', LABWRIGHT_HOST_PIDS: '1000', LABWRIGHT_HOST_DISK_GB: '20', LABWRIGHT_ALLOW_UNLIMITED_HOSTS: '1' });
    expect([set.hostMemoryMb, set.hostCpus, set.hostPids, set.hostDiskGb, set.allowUnlimitedHosts]).toEqual([2048, 1.5, 1000, 20, true]);
    expect(loadConfig({ LABWRIGHT_HOST_CPUS: '0' }).hostCpus).toBe(0);
    expect(() => loadConfig({ LABWRIGHT_HOST_CPUS: '-1' })).toThrow(/LABWRIGHT_HOST_CPUS must be a number/);
    expect(() => loadConfig({ LABWRIGHT_HOST_DISK_GB: '1' })).toThrow(/LABWRIGHT_HOST_DISK_GB must be an integer between 2/);
    expect(() => loadConfig({ LABWRIGHT_ALLOW_UNLIMITED_HOSTS: 'yes' })).toThrow(/LABWRIGHT_ALLOW_UNLIMITED_HOSTS must be 1 or 0/);
  });
});

describe('loadConfig: host isolation', () => {
  it('runs hosts unprivileged (userns) unless LABWRIGHT_HOST_ISOLATION=privileged, and refuses anything else', () => {
    expect(loadConfig({}).hostIsolation).toBe('userns');
    expect(loadConfig({ LABWRIGHT_HOST_ISOLATION: 'privileged' }).hostIsolation).toBe('privileged');
    expect(() => loadConfig({ LABWRIGHT_HOST_ISOLATION: 'root' })).toThrow(/LABWRIGHT_HOST_ISOLATION must be userns or privileged, got "root"/);
  });
});

describe('folder settings', () => {
  it('refuses a folder setting that is set but empty (it would mean the current folder)', () => {
    expect(() => loadConfig({ LABWRIGHT_DATA_DIR: '' })).toThrow(/LABWRIGHT_DATA_DIR is set but empty/);
    expect(() => loadConfig({ LABWRIGHT_LABS_DIR: ' ' })).toThrow(ConfigError);
    expect(loadConfig({}).dataDir).toBe('/var/lib/labwright');
  });
});
