import { describe, expect, it } from 'vitest';
import { typedForm } from './typed-form.ts';

describe('typedForm', () => {
  it('ends every line with Enter, as typed by hand', () => {
    expect(typedForm('ls')).toBe('ls\r');
    expect(typedForm('a\nb')).toBe('a\rb\r');
  });

  it('types a trailing newline once, not as an extra empty command', () => {
    expect(typedForm('a\n\n')).toBe('a\r');
  });

  it('treats CRLF and CR line ends as one Enter', () => {
    expect(typedForm('a\r\nb\rc')).toBe('a\rb\rc\r');
  });

  it('keeps empty lines inside a block (a heredoc may need them)', () => {
    expect(typedForm("cat <<'EOF'\nx\n\ny\nEOF")).toBe("cat <<'EOF'\rx\r\ry\rEOF\r");
  });
});
