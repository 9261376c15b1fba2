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

const SYNOPSIS = 'labwright test <lab-id | path> [--as-attendee] [--keep] [--json] [--junit FILE] [--jobs N]';
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
                 host's terminal (its session), key for key as the Run button does, waiting
                 as a reader would: proves the text alone gets an attendee through
  --keep         leave the hosts running and print how to ssh in (for debugging)
  --json         print the results as JSON instead of the report
  --junit FILE   also write JUnit XML to FILE (written even when tests fail): one
                 <testsuite> per lab; testcases for its lint pass, its hosts, and
                 each step (name = the step's title, classname = the lab id; a
                 failure carries file:line and the per-host messages)
  --jobs N       test up to N labs at the same time, each on its own hosts (default
                 1); a lab's report is printed in one piece when it finishes, in the
                 order the labs finish, followed by a summary of all of them

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
  for (const e of (await readdir(arg, { withFileTypes: true })).filter((d) => d.isDirectory() || d.isSymbolicLink()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (await isFile(join(arg, e.name, LAB_FILE))) found.push(join(arg, e.name, LAB_FILE));
  }
  if (found.length === 0) throw new UsageError(`no lab files in ${arg}`);
  return found;
}

const secs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const mark = (r: CheckResult): string => (r.status === 'pass' ? '✓' : r.status === 'fail' ? '✗' : '⚠');

type Out = (line: string) => void;

function printStep(r: StepTestResult, work: string, out: Out): void {
  const n = r.step + 1;
  if (r.verdict === 'not-run') {
    out(`  - step ${n}: ${r.title} (not run)`);
    return;
  }
  const t = r.timings;
  const timing = `checks before ${secs(t.beforeMs)}, ${work} ${secs(t.solveMs)}, checks after ${secs(t.afterMs)}`;
  const faultFailed = r.faults?.some((f) => !f.ok) === true;
  out(`  ${r.verdict === 'pass' || faultFailed ? '✓' : '✗'} step ${n}: ${r.title}  (${timing})`);
  for (const f of r.faults ?? []) {
    const ft = f.timings;
    const how = f.ok ? `fired → checks fail (${secs(ft.fireMs + ft.detectMs)}), repaired → checks pass (${secs(ft.repairMs + ft.passMs)})` : (f.problem ?? 'failed');
    out(`  ${f.ok ? '✓' : '✗'} fault ${f.name} (step ${n}): ${how}`);
  }
  if (r.verdict === 'pass' || faultFailed) return;
  out(`      ${r.problem ?? 'failed'}  [line ${r.line}]`);
  // Per-check detail: the report that decided the verdict.
  const report = r.after ?? r.before;
  for (const x of report?.results ?? []) out(`      ${mark(x)} ${x.description === undefined ? '' : `${x.description}: `}${x.message}`);
}

function printKept(res: LabTestResult, out: Out): void {
  const env = res.kept;
  if (!env) return;
  out(`  hosts kept (environment ${env.id}); connect with:`);
  for (const h of env.hosts) out(`    ssh -i ${env.privateKeyPath} -o StrictHostKeyChecking=no -p ${h.port} ${h.user}@${h.address}   # ${h.name}`);
  out(`  remove them with: labwright env down ${env.id}`);
}

function parseArgs(args: string[]): { flags: Set<string>; junit: string | undefined; jobs: number; targets: string[] } {
  const flags = new Set<string>();
  const targets: string[] = [];
  let junit: string | undefined;
  let jobs = 1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--jobs' || a.startsWith('--jobs=')) {
      const v = a === '--jobs' ? args[++i] : a.slice('--jobs='.length);
      jobs = Number(v);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) throw new UsageError(`--jobs needs a whole number from 1 to 16 (got ${v ?? 'nothing'}); usage: ${SYNOPSIS}`);
    } else if (a === '--junit' || a.startsWith('--junit=')) {
      junit = a === '--junit' ? args[++i] : a.slice('--junit='.length);
      if (junit === undefined || junit === '' || junit.startsWith('-')) throw new UsageError(`--junit needs a file to write; usage: ${SYNOPSIS}`);
    } else if (['--keep', '--json', '--as-attendee'].includes(a)) flags.add(a);
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; usage: ${SYNOPSIS}`);
    else targets.push(a);
  }
  return { flags, junit, jobs, targets };
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
    const { flags, junit, jobs, targets } = parseArgs(args);
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
    const results: (LabTestResult | undefined)[] = files.map(() => undefined);
    const report: JunitLab[] = files.map((file) => ({ labId: basename(dirname(resolve(file))), file, problems: [] }));
    let exit = 0;

    /** Tests one lab; its report goes straight to stdout when labs run one at a time, else in one piece at its end. */
    const testFile = async (i: number): Promise<void> => {
      const file = files[i]!;
      const lines: string[] = [];
      const out: Out = json ? () => undefined : jobs === 1 ? (l) => console.log(l) : (l) => lines.push(l);
      try {
        const load = await loadLabFile(file, basename(dirname(resolve(file))));
        const entry = report[i]!;
        entry.problems = load.problems;
        if (!load.ok) {
          exit = 1;
          results[i] = { labId: basename(dirname(file)), file, ok: false, problem: 'lint errors', provisionMs: 0, steps: [] };
          out(`✗ ${file}: lint errors, not tested`);
          for (const p of load.problems) out(`  ${p.file}:${p.line}: ${p.severity}: ${p.message}`);
          return;
        }
        const lab = load.lab;
        const onEvent = (e: TestEvent): void => {
          if (e.type === 'provisioning') out(`${lab.meta.title} (${file})${asAttendee ? ' — as an attendee, typing the run blocks' : ''}\n  provisioning ${e.hosts.join(', ')}…`);
          else if (e.type === 'provisioned') out(`  hosts ready in ${secs(e.ms)} (environment ${e.env.id})`);
          else if (e.type === 'step') printStep(e.result, asAttendee ? 'typing' : 'solve', out);
          else out('  tearing down…');
        };
        const res = await testLab(lab, { provider, keep, asAttendee, onEvent, signal: abort.signal });
        results[i] = res;
        entry.result = res;
        if (!res.ok) exit = 1;
        if (res.problem) out(`  ✗ ${res.problem}`);
        printKept(res, out);
        const passed = res.steps.filter((s) => s.verdict === 'pass').length;
        out(`${res.ok ? '✓ PASS' : '✗ FAIL'} ${lab.id}: ${passed}/${lab.steps.length} steps passed\n`);
      } finally {
        if (lines.length > 0) console.log(lines.join('\n'));
      }
    };

    const started = Date.now();
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < files.length && !abort.signal.aborted) await testFile(next++);
      };
      await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Written whatever happened, so that CI shows which step failed.
      if (junit !== undefined && !(await writeJunit(junit, report.filter((_, i) => results[i] !== undefined)))) exit = 1;
    }
    const done = results.filter((r): r is LabTestResult => r !== undefined);
    if (!json && files.length > 1) {
      const failed = done.filter((r) => !r.ok).map((r) => r.labId);
      const notRun = files.length - done.length;
      console.log(
        `${failed.length === 0 && notRun === 0 ? '✓' : '✗'} ${done.length - failed.length} of ${files.length} labs passed` +
          `${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}${notRun > 0 ? `; ${notRun} not run (stopped)` : ''}` +
          ` in ${secs(Date.now() - started)}${jobs > 1 ? ` (${jobs} at a time)` : ''}`,
      );
    }
    if (json) console.log(JSON.stringify(done, null, 2));
    return exit;
  },
};
