// Hostile, on a real lab host: the attendee's service answers an http check with a body that never
// ends (a CGI script running `yes` behind busybox httpd). The check is made from the host, with curl
// over SSH, so the cut must happen on the host and in what the server buffers of its answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../common/checks.ts';
import { checkSchemas } from '../../common/checks.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { runCheck } from '../checks/check-engine.ts';
import type { CheckTarget } from '../checks/check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../checks/env-target.ts';
import { MAX_BODY } from '../checks/kinds/http-check.ts';
import { loadConfig } from '../config.ts';
import { SshPool } from '../ssh/ssh-pool.ts';

const provider = createLocalProvider(loadConfig());
const pool = new SshPool();
const etcd = new EtcdClients();
const warm = new WarmShells();
let env: Environment | undefined;
let t: CheckTarget;

async function sh(cmd: string): Promise<void> {
  const r = await t.execSession('host0', cmd, { timeoutMs: 30_000, signal: AbortSignal.timeout(30_000) });
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
}

beforeAll(async () => {
  env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'hostile checks test' });
  t = environmentTarget(env, pool, etcd, warm);
  await sh(
    [
      'mkdir -p /srv/endless/cgi-bin',
      `printf '#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n"\\nexec yes yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\\n' > /srv/endless/cgi-bin/page`,
      'chmod +x /srv/endless/cgi-bin/page',
      'busybox httpd -p 8099 -h /srv/endless',
    ].join(' && '),
  );
});

afterAll(async () => {
  etcd.closeAll();
  warm.closeAll();
  pool.closeAll();
  if (env) await provider.destroy(env);
});

describe('hostile: an endless answer to a check made from a lab host', () => {
  it('curl on host0 gets a page that never ends → the check is cut at 256 KiB on the host, says so, and server memory stays bounded', { timeout: 120_000 }, async () => {
    const spec = { kind: 'http', line: 1, spec: checkSchemas.http.parse({ from: 'host0', url: 'http://localhost:8099/cgi-bin/page', body: '^y+$', timeout: 20_000 }) } as CheckSpec;
    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.rss - before.rss, m.arrayBuffers - before.arrayBuffers);
    }, 50);
    const results = await runCheck(t, spec);
    clearInterval(sampler);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: 'pass', host: 'host0' });
    expect(results[0]?.actual).toContain(`the body is larger than ${MAX_BODY / 1024} KiB, only its first ${MAX_BODY / 1024} KiB were read`);
    // A pass, not an error: curl stopped when head had its bytes, not when the check's time ran out.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
    // The same check twice more: the check shell is still usable and nothing accumulates.
    for (let i = 0; i < 2; i++) expect((await runCheck(t, spec))[0]?.status).toBe('pass');
  });
});
