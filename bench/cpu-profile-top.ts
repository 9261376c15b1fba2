// Where a server's CPU went, from a V8 .cpuprofile (bench-server.ts writes them): self time by
// area (JSON, validation, WebSocket frames, SSH, SQLite, logs, checks, GC) and the top functions.
// and the longest stretches the event loop was busy without a break (what a keystroke waited behind),
// each with where its time went.
// Usage: npx tsx bench/cpu-profile-top.ts FILE.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First matching area wins; matched against "url function". */
const AREAS: [string, RegExp][] = [
  ['idle', /^ \(idle\)$/],
  // The in-process inspector's own call (Profiler.start/stop): its samples carry the gaps around it.
  ['idle', /^ dispatch$/],
  ['GC', /\(garbage collector\)/],
  ['SSH (ssh2: crypto, packets)', /node_modules\/ssh2\//],
  ['WebSocket frames (ws)', /node_modules\/ws\//],
  ['validation (zod)', /node_modules\/zod\//],
  ['SQLite', /sqlite|\/store\//i],
  ['logs (pino)', /node_modules\/(pino|sonic-boom|thread-stream)/],
  ['etcd client (grpc)', /node_modules\/(etcd3|@grpc|protobufjs)/],
  ['checks', /\/server\/checks\//],
  ['terminals', /\/server\/terminals\//],
  ['dashboard / workshops', /\/server\/(workshops|progress|catchup|help|faults)\//],
  ['protocol (common/)', /\/common\//],
  ['gateway (server/ws)', /\/server\/ws\//],
  ['JSON / builtins', /^ (JSON|stringify|parse)|^ \(program\)$/],
  ['node internals', /^node:|^internal\//],
  ['other', /.*/],
];

const file = process.argv[2];
if (!file) throw new Error('usage: cpu-profile-top.ts FILE.cpuprofile [top]');
const top = Number(process.argv[3] ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));

const area = new Map<string, number>();
const fn = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const { functionName, url, lineNumber } = n.callFrame;
  const key = `${url.replace(/^file:\/\/.*?\/(node_modules|server|common|bench)\//, '$1/')} ${functionName || '(anonymous)'}`;
  const a = AREAS.find(([, re]) => re.test(`${url} ${functionName}`))?.[0] ?? 'other';
  if (a === 'idle') {
    idle += us;
    continue;
  }
  total += us;
  area.set(a, (area.get(a) ?? 0) + us);
  const k = `${key}:${lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + us);
}
const wall = p.timeDeltas.reduce((a, b) => a + b, 0);
const pc = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(wall / 1e6).toFixed(1)} s profiled, busy ${((total / wall) * 100).toFixed(0)}% (idle ${(idle / 1e6).toFixed(1)} s)`);
console.log('\nself time by area (share of busy time):');
for (const [a, us] of [...area].sort((x, y) => y[1] - x[1])) console.log(`  ${pc(us)}  ${a}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [k, us] of [...fn].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${pc(us)}  ${k}`);

// The longest busy stretches: consecutive samples none of which was idle. A keystroke arriving
// during one waits for its end, so these (not the average) set a keystroke's p99.
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const short = (url: string): string => url.replace(/^file:\/\/.*?\/(node_modules|server|common|bench)\//, '$1/');
/** What a sample was doing, named by the deepest frame of this project's code on its stack (else its own frame). */
function doing(id: number): string {
  const self = byId.get(id);
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const f = byId.get(at)?.callFrame;
    if (f && /\/(server|common)\//.test(f.url) && !/node_modules/.test(f.url)) return `${short(f.url)} ${f.functionName || '(anonymous)'}:${f.lineNumber + 1}`;
  }
  const f = self?.callFrame;
  return f ? `${short(f.url)} ${f.functionName || '(anonymous)'}`.trim() : '?';
}
const isIdle = (id: number): boolean => {
  const f = byId.get(id)?.callFrame;
  return !f || AREAS.find(([, re]) => re.test(`${f.url} ${f.functionName}`))?.[0] === 'idle';
};
interface Stretch { startUs: number; us: number; doing: Map<string, number> }
const stretches: Stretch[] = [];
let now = 0;
let cur: Stretch | undefined;
p.samples.forEach((id, i) => {
  const d = p.timeDeltas[i] ?? 0;
  now += d;
  if (isIdle(id)) {
    if (cur) stretches.push(cur);
    cur = undefined;
    return;
  }
  cur ??= { startUs: now - d, us: 0, doing: new Map() };
  cur.us += d;
  const what = doing(id);
  cur.doing.set(what, (cur.doing.get(what) ?? 0) + d);
});
if (cur) stretches.push(cur);
const longest = stretches.sort((a, b) => b.us - a.us).slice(0, 10);
const over = (ms: number): number => stretches.filter((s) => s.us >= ms * 1000).length;
console.log(`
busy stretches (the loop never idle): ${stretches.length}; >= 5 ms: ${over(5)}, >= 10 ms: ${over(10)}, >= 20 ms: ${over(20)}; the longest:`);
for (const st of longest) {
  const parts = [...st.doing].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([w, us]) => `${(us / 1000).toFixed(1)} ms ${w}`);
  console.log(`  ${(st.us / 1000).toFixed(1).padStart(6)} ms at ${(st.startUs / 1e6).toFixed(2)} s: ${parts.join('; ')}`);
}
