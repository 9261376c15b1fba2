// Service previews through the SSH tunnel (`npx tsx bench/preview-throughput.ts [runs]`): latency of
// a small page and a WebSocket echo, and throughput of a 64 MiB file, through the preview origin
// (the full server stack: ticket, cookie, proxy, ssh direct-tcpip) against the same requests made
// straight to the host. Prints medians; never passes or fails on time. Needs root (1 local host).
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { OpenPreviewAnswer } from '../common/http-api.ts';
import type { WorkshopInfo } from '../common/workshop.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { startServer } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { WS_ECHO_PERL } from '../server/previews/ws-echo.pl.ts';
import { StaticLabViews } from '../server/testing/static-lab-views.ts';
import { sampleLabView } from '../server/testing/test-labs.ts';
import { apiCall, cookieOf } from '../server/testing/test-server.ts';
import { createWorkshopStack } from '../server/workshops/workshop-stack.ts';

const RUNS = Number(process.argv[2] ?? 200);
const BIG_RUNS = 5;
const TOKEN = 'instructor-secret-for-the-preview-bench';

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

/** GET through 127.0.0.1:port with this Host (the preview) or straight to an address; resolves with the bytes read. */
function get(addr: string, port: number, p: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: addr, port, path: p, headers, agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode ?? 0}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function timeEach(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

setLogLevel('warn');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-bench-previews-'));
const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, poolSize: 0 });
const view = sampleLabView('web');
view.meta.hosts = ['host0'];
view.meta.services = { etcd: 'none', docker: false };
view.steps[0]!.parts.push({ kind: 'preview', id: 's1-p1', host: 'host0', port: 80, label: '' }, { kind: 'preview', id: 's1-p2', host: 'host0', port: 8081, label: '' });
const labs = new StaticLabViews([view]);
const stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider: createLocalProvider(config, { log: logger('local-provider') }), recheckMs: 0 });
const server = await startServer(config, { labs, ...stack.appDeps });
const port = Number(new URL(server.url).port);
const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(server.url, p, init);
const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'web', capacity: 1, minutes: 30 } })).json()) as WorkshopInfo;
try {
  const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
  const session = stack.store.sessions.attendeesOf(w.id)[0]!;
  const env = await stack.workspaces.workspaces.whenReady(session.id, 'web');
  const host = env.hosts[0]!;
  const ssh = stack.workspaces.ssh.get(env, 'host0')!;
  await ssh.exec('echo hello > /var/www/html/index.html && head -c 64M /dev/urandom > /var/www/html/big && systemctl start nginx');
  await ssh.exec('cat > /root/ws-echo.pl', { stdin: WS_ECHO_PERL });
  await ssh.exec('setsid perl /root/ws-echo.pl 8081 </dev/null >/dev/null 2>&1 &');
  await ssh.exec('for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8081) 2>/dev/null && exit 0; sleep 0.1; done; exit 1');
  const enter = async (p: number) => {
    const u = new URL(((await (await api('labs/web/previews', { method: 'POST', cookie: ada, body: { host: 'host0', port: p } })).json()) as OpenPreviewAnswer).url);
    const cookie = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `${u.pathname}${u.search}`, headers: { Host: u.host } }, (res) => {
        res.resume();
        resolve(String(res.headers['set-cookie']?.[0] ?? '').split(';')[0]!);
      });
      req.on('error', reject);
      req.end();
    });
    return { headers: { Host: u.host, Cookie: cookie }, origin: u.origin, host: u.host };
  };
  const web = await enter(80);
  const echo = await enter(8081);
  console.log(`1 host ready; ${RUNS} sequential small requests, ${BIG_RUNS} runs of 64 MiB, medians (p99 in brackets)\n`);

  const viaPreview = () => get('127.0.0.1', port, '/', web.headers);
  const direct = () => get(host.address, 80, '/');
  await timeEach(20, viaPreview);
  await timeEach(20, direct);
  const small = await timeEach(RUNS, viaPreview);
  const smallDirect = await timeEach(RUNS, direct);
  console.log(`small page (6 B)     preview ${pct(small, 50).toFixed(2)} ms [${pct(small, 99).toFixed(2)}]   direct ${pct(smallDirect, 50).toFixed(2)} ms [${pct(smallDirect, 99).toFixed(2)}]`);

  const mib = (ms: number) => 64 / (ms / 1000);
  const big = await timeEach(BIG_RUNS, () => get('127.0.0.1', port, '/big', web.headers));
  const bigDirect = await timeEach(BIG_RUNS, () => get(host.address, 80, '/big'));
  console.log(`64 MiB file          preview ${mib(pct(big, 50)).toFixed(1)} MiB/s (${(pct(big, 50) / 1000).toFixed(2)} s)   direct ${mib(pct(bigDirect, 50)).toFixed(1)} MiB/s (${(pct(bigDirect, 50) / 1000).toFixed(2)} s)`);

  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { Host: echo.host, Origin: echo.origin, Cookie: echo.headers.Cookie } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send('ping');
    });
  await timeEach(20, roundTrip);
  const rt = await timeEach(RUNS, roundTrip);
  ws.terminate();
  console.log(`WebSocket echo       preview ${pct(rt, 50).toFixed(2)} ms [${pct(rt, 99).toFixed(2)}] per round trip (one open socket)`);
} finally {
  await api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor });
  await server.close();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
}
