// The lab tester's judgement of a step, with a scripted host: a check that errs before the
// solution (a host slow to answer) is asked again before it counts; one that keeps erring fails.
import { describe, expect, it } from 'vitest';
import { parseLab } from '../labs/parse-lab.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import { fakeTarget } from '../testing/fake-target.ts';
import { testStep } from './lab-tester.ts';

const lab = parseLab(
  `---
title: T
hosts: [host0]
---
## Make the file

\`\`\`check
file: { on: host0, path: /tmp/x }
\`\`\`

\`\`\`solve host0
touch /tmp/x
\`\`\`
`,
  { id: 't', file: 't/lab.md' },
).lab;

describe('testStep', () => {
  it('a check that errs before the solution is asked again; once it answers (fails), the step is tested as usual', async () => {
    let slow = 2;
    let made = false;
    const target = fakeTarget(['host0'], (_h, command) => {
      if (command.includes('touch /tmp/x')) {
        made = true;
        return {};
      }
      if (slow > 0) {
        slow--;
        return new SshError('timeout', 'host0: no answer within 5000 ms');
      }
      return { code: made ? 0 : 1 };
    });
    const r = await testStep(target, lab.steps[0]!, 1000);
    expect(r.problem).toBeUndefined();
    expect(r.verdict).toBe('pass');
  }, 20_000);

  it('a check that keeps erring before the solution fails the step, saying it could not be evaluated', async () => {
    const target = fakeTarget(['host0'], () => new SshError('timeout', 'host0: no answer within 5000 ms'));
    const r = await testStep(target, lab.steps[0]!, 1000);
    expect(r.verdict).toBe('fail');
    expect(r.problem).toMatch(/^a check could not be evaluated before the solution ran: .*no answer within 5000 ms/);
  }, 20_000);
});
