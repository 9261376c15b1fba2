// What a help text may be: one line of plain text within its cap; tag-like text is refused
// (a lone "<" in "a < b" is not).
import { describe, expect, it } from 'vitest';
import { MAX_HELP_MESSAGE, helpText, helpTextProblem } from './help.ts';

describe('helpTextProblem', () => {
  it('accepts one line of plain text, comparisons and shell redirections included', () => {
    for (const t of ['Look at step 2', 'if a < b', 'ls -l > out 2>&1', 'echo "<" tab\there', 'ça marche ✓']) expect(helpTextProblem(t, MAX_HELP_MESSAGE)).toBeUndefined();
  });
  it('refuses tags, comments, newlines, control characters and overlong text', () => {
    expect(helpTextProblem('<b>x</b>', 500)).toBe('plain text only: no HTML tags');
    expect(helpTextProblem('a <!-- b', 500)).toBe('plain text only: no HTML tags');
    expect(helpTextProblem('x</div>', 500)).toBe('plain text only: no HTML tags');
    expect(helpTextProblem('one\ntwo', 500)).toBe('one line of text, without control characters');
    expect(helpTextProblem('\u001b[31mred', 500)).toBe('one line of text, without control characters');
    expect(helpTextProblem('x'.repeat(11), 10)).toBe('at most 10 characters');
  });
  it('the schema refuses an empty message unless it is optional', () => {
    expect(helpText(10).safeParse('').success).toBe(false);
    expect(helpText(10, { optional: true }).safeParse('').success).toBe(true);
    expect(helpText(10).safeParse('<i>').success).toBe(false);
  });
});
