import { describe, expect, it } from 'vitest';
import type { LabTestResult, StepTestResult } from '../checks/lab-tester.ts';
import { junitXml, xmlText } from './junit-report.ts';

const timings = { beforeMs: 100, solveMs: 200, afterMs: 300 };
const step = (i: number, title: string, verdict: StepTestResult['verdict'], extra: Partial<StepTestResult> = {}): StepTestResult => ({ step: i, title, line: 10 + i * 10, verdict, solves: [], setups: [], timings, ...extra });

describe('junit report', () => {
  it('escapes markup, quotes and control characters (a terminal escape) so the XML stays well-formed', () => {
    expect(xmlText(`a <b> & "c" 'd'`)).toBe('a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;');
    expect(xmlText('\u001b[31mred\u001b[0m\ttab\nline')).toBe('\uFFFD[31mred\uFFFD[0m\ttab\nline');
  });

  it('has one suite per lab and one testcase per step; a failure carries file:line and each per-host message', () => {
    const result: LabTestResult = {
      labId: 'demo',
      file: 'labs/demo/lab.md',
      ok: false,
      provisionMs: 1500,
      steps: [
        step(0, 'Start <etcd> & "friends"', 'pass'),
        step(1, 'Write a key', 'fail', {
          problem: 'checks still fail after the solution ran: host1: unit x is failed, expected active',
          after: {
            step: 1,
            passed: false,
            at: 0,
            results: [
              { status: 'pass', kind: 'unit', subject: 'u', host: 'host0', expected: 'active', actual: 'active', message: 'host0: unit x is active', durationMs: 1 },
              { status: 'fail', kind: 'unit', subject: 'every host runs x', description: 'every host runs x', host: 'host1', expected: 'active', actual: 'failed', message: 'host1: failed, expected active', durationMs: 1 },
              { status: 'error', kind: 'unit', subject: 'u', host: 'host2', expected: 'active', actual: 'unreachable', message: 'host2: could not check unit x: unreachable', durationMs: 1 },
            ],
          },
        }),
        step(2, 'Later', 'not-run'),
      ],
    };
    const xml = junitXml([
      { labId: 'demo', file: 'labs/demo/lab.md', problems: [{ file: 'labs/demo/lab.md', line: 3, severity: 'warning', message: 'a warning' }], result },
      { labId: 'broken', file: 'labs/broken/lab.md', problems: [{ file: 'labs/broken/lab.md', line: 7, severity: 'error', message: 'unknown check kind `x`' }] },
    ]);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="labwright test" tests="6" failures="2" errors="0"')).toBe(true);
    expect(xml).toContain('<testsuite name="demo" tests="5" failures="1" errors="0" skipped="1" time="3.300" file="labs/demo/lab.md">');
    expect(xml).toContain('<testcase name="lint" classname="demo" time="0.000" file="labs/demo/lab.md">\n      <system-out>labs/demo/lab.md:3: warning: a warning</system-out>');
    expect(xml).toContain('<testcase name="provision hosts" classname="demo" time="1.500" file="labs/demo/lab.md"/>');
    expect(xml).toContain('<testcase name="Start &lt;etcd&gt; &amp; &quot;friends&quot;" classname="demo" time="0.600" file="labs/demo/lab.md" line="10"/>');
    expect(xml).toContain(
      '<testcase name="Write a key" classname="demo" time="0.600" file="labs/demo/lab.md" line="20">\n' +
        '      <failure message="labs/demo/lab.md:20: checks still fail after the solution ran: host1: unit x is failed, expected active" type="failure">' +
        'labs/demo/lab.md:20: step 2 &quot;Write a key&quot;: checks still fail after the solution ran: host1: unit x is failed, expected active\n' +
        'failed: every host runs x: host1: failed, expected active\n' +
        'could not check: host2: could not check unit x: unreachable</failure>',
    );
    expect(xml).toContain('<testcase name="Later" classname="demo" time="0.600" file="labs/demo/lab.md" line="30">\n      <skipped message="not run: an earlier step failed"/>');
    expect(xml).toContain('<testsuite name="broken" tests="1" failures="1" errors="0" skipped="0" time="0.000" file="labs/broken/lab.md">');
    expect(xml).toContain('<failure message="1 lint error: labs/broken/lab.md:7: unknown check kind `x`" type="failure">labs/broken/lab.md:7: error: unknown check kind `x`</failure>');
  });

  it('reports hosts that could not be provisioned on the provision testcase', () => {
    const result: LabTestResult = { labId: 'demo', file: 'd/lab.md', ok: false, problem: 'could not provision hosts: no image', provisionMs: 10, steps: [] };
    const xml = junitXml([{ labId: 'demo', file: 'd/lab.md', problems: [], result }]);
    expect(xml).toContain('<testcase name="provision hosts" classname="demo" time="0.010" file="d/lab.md">\n      <failure message="could not provision hosts: no image" type="failure">d/lab.md:1: could not provision hosts: no image</failure>');
  });
});
