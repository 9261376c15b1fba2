// `labwright test <lab-id | path> [--keep] [--json] [--junit FILE]`: replays every step's solution on fresh hosts
// and proves each step's checks fail before and pass after. Exit 0 only when every lab passes.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CheckResult } from '../../common/checks.ts';
import { LAB_ID } from '../../common/lab.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { LabTestResult, StepTestResult, TestEvent } from '../checks/lab-tester.ts';
import { testLab } from '../checks/lab-tester.ts';
import { loadConfig } from '../config.ts';
import { LAB_FILE } from '../labs/lab-catalog.ts';
import { loadLabFile } from '../labs/lint-lab.ts';
import { logger, setLogLevel } from '../log.ts';
import type { Command } from './command.ts';
import type { JunitLab } from './junit-report.ts';
import { junitXml } from './junit-report.ts';
import { UsageError } from './command.ts';

const SYNOPSIS = 'labwright test <lab-id | path> [--as-attendee] [--keep] [--json] [--junit FILE]';
const USAGE = `${SYNOPSIS}

Provisions fresh hosts for the lab (as its front matter asks), then for every step
in order: checks must NOT pass yet, the step's solve blocks run on their hosts
(bash -e, non-interactive), and the checks must pass (retried for a few seconds).
Then each of the step's faults (\`\`\`fault NAME HOST) is fired: the checks must fail,
its repair block runs, and they must pass again (one "fault NAME" line each).
Prints a per-step report and tears the hosts down.

  <lab-id>       a lab under the labs folder (LABWRIGHT_LABS_DIR; e.g. etcd)
  <path>         a lab file, a lab folder, or a folder of lab folders (tests each),
                 anywhere: absolute, or relative to the current folder
  --as-attendee  instead of the solve blocks, type each step's run blocks into its
                 host's terminal (tmux), key for key as the Run button does, waiting
                 as a reader would: proves the text alone gets an attendee through
  --keep         leave the hosts running and print how to ssh in (for debugging)
  --json         print the results as JSON instead of the report
  --junit FILE   also write JUnit XML to FILE (written even when tests fail): one
                 <testsuite> per lab; testcases for its lint pass, its hosts, and
                 each step (name = the step's title, classname = the lab id; a
                 failure carries file:line and the per-host messages)

Exits 1 when a lab fails (or has lint errors), 2 on a bad invocation. Needs root
(the local provider starts systemd-nspawn hosts).`;

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Lab files named by the argument: an id under labs/, a file, a lab folder, or a folder of labs. */
async function resolveLabs(arg: string, labsDir: string): Promise<string[]> {
  const info = await stat(arg).catch(() => null);
  if (!info) {
    if (LAB_ID.test(arg) && (await isFile(join(labsDir, arg, LAB_FILE)))) return [join(labsDir, arg, LAB_FILE)];
    throw new UsageError(`no lab "${arg}": not a lab id under ${labsDir} nor an existing path`);
  }
  if (info.isFile()) return [arg];
  if (await isFile(join(arg, LAB_FILE))) return [join(arg, LAB_FILE)];
  const found: string[] = [];
  for (const e of (await readdir(arg, { withFileTypes: true })).filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (await isFile(join(arg, e.name, LAB_FILE))) found.push(join(arg, e.name, LAB_FILE));
  }
  if (found.length === 0) throw new UsageError(`no lab files in ${arg}`);
  return found;
}

const secs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const mark = (r: CheckResult): string => (r.status === 'pass' ? '✓' : r.status === 'fail' ? '✗' : '⚠');

function printStep(r: StepTestResult, work: string): void {
  const n = r.step + 1;
  if (r.verdict === 'not-run') {
    console.log(`  - step ${n}: ${r.title} (not run)`);
    return;
  }
  const t = r.timings;
  const timing = `checks before ${secs(t.beforeMs)}, ${work} ${secs(t.solveMs)}, checks after ${secs(t.afterMs)}`;
  const faultFailed = r.faults?.some((f) => !f.ok) === true;
  console.log(`  ${r.verdict === 'pass' || faultFailed ? '✓' : '✗'} step ${n}: ${r.title}  (${timing})`);
  for (const f of r.faults ?? []) {
    const ft = f.timings;
    const how = f.ok ? `fired → checks fail (${secs(ft.fireMs + ft.detectMs)}), repaired → checks pass (${secs(ft.repairMs + ft.passMs)})` : (f.problem ?? 'failed');
    console.log(`  ${f.ok ? '✓' : '✗'} fault ${f.name} (step ${n}): ${how}`);
  }
  if (r.verdict === 'pass' || faultFailed) return;
  console.log(`      ${r.problem ?? 'failed'}  [line ${r.line}]`);
  // Per-check detail: the report that decided the verdict.
  const report = r.after ?? r.before;
  for (const x of report?.results ?? []) console.log(`      ${mark(x)} ${x.description === undefined ? '' : `${x.description}: `}${x.message}`);
}

function printKept(res: LabTestResult): void {
  const env = res.kept;
  if (!env) return;
  console.log(`  hosts kept (environment ${env.id}); connect with:`);
  for (const h of env.hosts) console.log(`    ssh -i ${env.privateKeyPath} -o StrictHostKeyChecking=no -p ${h.port} ${h.user}@${h.address}   # ${h.name}`);
  console.log(`  remove them with: labwright env down ${env.id}`);
}

function parseArgs(args: string[]): { flags: Set<string>; junit: string | undefined; targets: string[] } {
  const flags = new Set<string>();
  const targets: string[] = [];
  let junit: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--junit' || a.startsWith('--junit=')) {
      junit = a === '--junit' ? args[++i] : a.slice('--junit='.length);
      if (junit === undefined || junit === '' || junit.startsWith('-')) throw new UsageError(`--junit needs a file to write; usage: ${SYNOPSIS}`);
    } else if (['--keep', '--json', '--as-attendee'].includes(a)) flags.add(a);
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; usage: ${SYNOPSIS}`);
    else targets.push(a);
  }
  return { flags, junit, targets };
}

/** Writes the report; false (said on stderr) when it cannot, which fails the run. */
async function writeJunit(file: string, labs: readonly JunitLab[]): Promise<boolean> {
  try {
    await mkdir(dirname(resolve(file)), { recursive: true });
    await writeFile(file, junitXml(labs));
    return true;
  } catch (e) {
    console.error(`labwright test: could not write the JUnit report ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

export const testCommand: Command = {
  summary: 'replay a lab’s solutions on fresh hosts and verify every step’s checks',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const { flags, junit, targets } = parseArgs(args);
    const keep = flags.has('--keep');
    const json = flags.has('--json');
    const asAttendee = flags.has('--as-attendee');
    if (targets.length !== 1) throw new UsageError(`name one lab id or path; usage: ${SYNOPSIS}`);
    const config = loadConfig();
    setLogLevel(process.env.LABWRIGHT_LOG_LEVEL ?? 'warn');
    const files = await resolveLabs(targets[0] ?? '', config.labsDir);
    const provider = createLocalProvider(config, { log: logger('local-provider') });

    // Ctrl-C stops between steps and still tears down what was created.
    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const results: LabTestResult[] = [];
    const report: JunitLab[] = [];
    let exit = 0;
    try {
      for (const file of files) {
        const load = await loadLabFile(file, basename(dirname(resolve(file))));
        const entry: JunitLab = { labId: basename(dirname(resolve(file))), file, problems: load.problems };
        report.push(entry);
        if (!load.ok) {
          exit = 1;
          if (json) results.push({ labId: basename(dirname(file)), file, ok: false, problem: 'lint errors', provisionMs: 0, steps: [] });
          else {
            console.log(`✗ ${file}: lint errors, not tested`);
            for (const p of load.problems) console.log(`  ${p.file}:${p.line}: ${p.severity}: ${p.message}`);
          }
          continue;
        }
        const lab = load.lab;
        const onEvent = (e: TestEvent): void => {
          if (json) return;
          if (e.type === 'provisioning') console.log(`${lab.meta.title} (${file})${asAttendee ? ' — as an attendee, typing the run blocks' : ''}\n  provisioning ${e.hosts.join(', ')}…`);
          else if (e.type === 'provisioned') console.log(`  hosts ready in ${secs(e.ms)} (environment ${e.env.id})`);
          else if (e.type === 'step') printStep(e.result, asAttendee ? 'typing' : 'solve');
          else console.log('  tearing down…');
        };
        const res = await testLab(lab, { provider, keep, asAttendee, onEvent, signal: abort.signal });
        results.push(res);
        entry.result = res;
        if (!res.ok) exit = 1;
        if (!json) {
          if (res.problem) console.log(`  ✗ ${res.problem}`);
          printKept(res);
          const passed = res.steps.filter((s) => s.verdict === 'pass').length;
          console.log(`${res.ok ? '✓ PASS' : '✗ FAIL'} ${lab.id}: ${passed}/${lab.steps.length} steps passed\n`);
        }
        if (abort.signal.aborted) break;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Written whatever happened, so that CI shows which step failed.
      if (junit !== undefined && !(await writeJunit(junit, report))) exit = 1;
    }
    if (json) console.log(JSON.stringify(results, null, 2));
    return exit;
  },
};
