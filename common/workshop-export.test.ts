import { describe, expect, it } from 'vitest';
import { csvField, progressCsv } from './workshop-export.ts';

describe('progress export CSV', () => {
  it('quotes commas, quotes and newlines, and defuses spreadsheet formulas typed as names', () => {
    expect(csvField('Ada, "the" first')).toBe('"Ada, ""the"" first"');
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(-3)).toBe('-3');
    expect(csvField(null)).toBe('');
  });
  it('one header line, then one line per attendee and step', () => {
    const csv = progressCsv({
      workshop: { id: 'w', labId: 'etcd', labTitle: 'etcd', exportedAt: '2026-11-30T00:00:00.000Z' },
      rows: [{ attendee: 'Ada', attendeeId: 'a1', step: 1, stepId: 'health', stepTitle: 'Check, health', state: 'done', doneAt: '2026-11-30T00:01:00.000Z', seconds: 60, attempts: 2, failedAttempts: 1, replayed: true }],
    });
    expect(csv).toBe('attendee,attendeeId,step,stepId,stepTitle,state,doneAt,seconds,attempts,failedAttempts,replayed\r\nAda,a1,1,health,"Check, health",done,2026-11-30T00:01:00.000Z,60,2,1,true\r\n');
  });
});
