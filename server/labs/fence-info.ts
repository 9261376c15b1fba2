// What a fenced block's info string means in a lab: one of our interactive blocks (run, check, hint,
// solve, preview, setup, fault, repair), ordinary code, or a near miss of ours (```chek) that would otherwise silently render as code.

export const BLOCK_KINDS = ['run', 'check', 'hint', 'solve', 'preview', 'setup', 'fault', 'repair'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

export type FenceInfo =
  | { kind: BlockKind; args: string[] }
  | { kind: 'code' }
  | { kind: 'near-miss'; word: string; meant: BlockKind };

export function classifyFence(info: string): FenceInfo {
  const [word = '', ...args] = info.trim().split(/\s+/);
  const ours = BLOCK_KINDS.find((k) => k === word);
  if (ours) return { kind: ours, args };
  const lower = word.toLowerCase();
  for (const kind of BLOCK_KINDS) {
    // Short words get a tighter budget so that real languages (`rust`, `ini`) stay code.
    // `fault` and `repair` too: `default` and `repl` are code.
    const budget = kind.length <= 4 || kind === 'fault' || kind === 'repair' ? 1 : 2;
    if (lower === kind || (lower.length > 1 && editDistance(lower, kind) <= budget)) {
      return { kind: 'near-miss', word, meant: kind };
    }
  }
  return { kind: 'code' };
}

/** Levenshtein distance; the words are a few characters long. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
