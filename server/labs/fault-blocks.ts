// Collects a lab's ```fault NAME HOST and ```repair NAME HOST blocks while it is parsed, pairs
// them by name and reports what cannot work (bad name, unknown host, twice the same, no repair).
import type { Fault, SolveBlock, Step } from '../../common/lab.ts';
import { FAULT_NAME } from '../../common/lab.ts';
import type { ProblemList } from './problem-list.ts';

interface Declared {
  name: string;
  host: string;
  code: string;
  line: number;
  step: Step;
}

/** A first line `# Something` of a fault block is its title (and harmless to bash). */
export function faultTitle(code: string, name: string): string {
  const first = code.split('\n', 1)[0]?.trim() ?? '';
  const m = /^#\s*(.+)$/.exec(first);
  const title = m?.[1]?.trim() ?? '';
  return title === '' || first.startsWith('#!') ? name : title.slice(0, 120);
}

export class FaultCollector {
  readonly #faults = new Map<string, Declared>();
  readonly #repairs = new Map<string, Declared>();

  constructor(
    private readonly scope: { hosts: readonly string[]; known: boolean },
    private readonly problems: ProblemList,
  ) {}

  add(kind: 'fault' | 'repair', args: readonly string[], code: string, line: number, step: Step | null): void {
    const [name, host] = args;
    if (name === undefined || host === undefined || args.length > 2) {
      this.problems.error(line, `a \`${kind}\` block names the fault and one host, e.g. \`\`\`${kind} etcd-down host1; found ${args.length === 0 ? 'nothing' : args.join(' ')}`);
      return;
    }
    let usable = true;
    if (!FAULT_NAME.test(name)) {
      this.problems.error(line, `fault name "${name}": expected lower-case letters, digits and dashes (at most 40), e.g. etcd-down`);
      usable = false;
    }
    if (this.scope.known && !this.scope.hosts.includes(host)) {
      this.problems.error(line, `${kind} block names host "${host}", but the lab declares ${this.scope.hosts.join(', ')}`);
      usable = false;
    }
    if (code.trim() === '') this.problems.error(line, `empty \`${kind}\` block: expected the commands to run as root on ${host}`);
    if (!step) {
      this.problems.error(line, `a \`${kind}\` block before the first step: a fault belongs to the step whose checks show it repaired`);
      return;
    }
    const seen = kind === 'fault' ? this.#faults : this.#repairs;
    const first = seen.get(name);
    if (first) {
      this.problems.error(line, `duplicate ${kind} "${name}": line ${first.line} already declares it`);
      return;
    }
    if (usable) seen.set(name, { name, host, code, line, step });
  }

  /** Pairs faults with repairs (reporting the unpaired) and returns the usable faults in file order. */
  finish(): Fault[] {
    for (const r of this.#repairs.values()) {
      const f = this.#faults.get(r.name);
      if (!f) this.problems.error(r.line, `repair "${r.name}" has no \`\`\`fault ${r.name} HOST block`);
      else if (f.step !== r.step) this.problems.error(r.line, `repair "${r.name}" is in step ${r.step.index + 1}, but its fault (line ${f.line}) is in step ${f.step.index + 1}: keep them in the same step`);
    }
    const out: Fault[] = [];
    for (const f of this.#faults.values()) {
      const r = this.#repairs.get(f.name);
      if (!r) {
        this.problems.error(f.line, `fault "${f.name}" has no \`\`\`repair ${f.name} HOST block: labwright test needs it to prove the step's checks see the fault and its repair`);
        continue;
      }
      if (f.step.checks.length === 0) {
        this.problems.error(f.line, `fault "${f.name}" is in step ${f.step.index + 1}, which has no check: a fault's step checks are what show it repaired`);
        continue;
      }
      const repair: SolveBlock = { host: r.host, code: r.code, line: r.line };
      out.push({ name: f.name, title: faultTitle(f.code, f.name), step: f.step.index, host: f.host, code: f.code, line: f.line, repair });
    }
    return out.sort((a, b) => a.line - b.line);
  }
}
