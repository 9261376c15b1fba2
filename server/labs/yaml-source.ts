// A YAML snippet embedded in a lab file (front matter or a check block), parsed with positions so
// that every problem can name the line of the lab file it comes from.
import { LineCounter, isCollection, isNode, parseDocument } from 'yaml';
import type { Document, Node, ParsedNode } from 'yaml';
import { err, ok } from '../../common/result.ts';
import type { Result } from '../../common/result.ts';
import type { ProblemList } from './problem-list.ts';

export class YamlSource {
  readonly doc: Document.Parsed;
  private readonly counter = new LineCounter();

  /** `firstLine` is the 1-based line of the lab file on which the YAML text starts. */
  constructor(
    text: string,
    private readonly firstLine: number,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.counter, uniqueKeys: true, prettyErrors: true, strict: true });
  }

  /**
   * Reports the first YAML syntax error (the ones after it are mostly echoes of the first);
   * returns false when the document cannot be trusted.
   */
  reportErrors(problems: ProblemList, what: string): boolean {
    const [e] = this.doc.errors;
    if (!e) return true;
    const line = e.linePos ? this.firstLine + e.linePos[0].line - 1 : this.firstLine;
    problems.error(line, `${what} is not valid YAML: ${firstLine(e.message)}`);
    return false;
  }

  /** Lab-file line of a node (or `fallback` when the node has no position). */
  lineOf(node: unknown, fallback = this.firstLine): number {
    if (isNode(node) && node.range) {
      return this.firstLine + this.counter.linePos(node.range[0]).line - 1;
    }
    return fallback;
  }

  /** Plain JavaScript value of a node, or why there is none (an alias to a missing anchor, too many aliases). */
  toJS(node: ParsedNode | Node | null | undefined): Result<unknown> {
    if (node === null || node === undefined) return ok(null);
    try {
      return ok(node.toJS(this.doc, { maxAliasCount: 50 }));
    } catch (e) {
      return err(e instanceof Error ? e.message : String(e));
    }
  }

  /** The node at `path` below `node` (or the deepest existing one), for pointing at a bad field. */
  nodeAt(node: unknown, path: readonly PropertyKey[]): unknown {
    let current = node;
    for (const key of path) {
      if (!isCollection(current)) break;
      const next: unknown = current.get(typeof key === 'symbol' ? String(key) : key, true);
      if (next === undefined) break;
      current = next;
    }
    return current;
  }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
