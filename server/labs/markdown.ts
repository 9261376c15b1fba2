// The one markdown-it configuration for lab text: raw HTML is never rendered (lab files may come
// from anyone), links are limited to safe schemes, and external links open beside the terminals.
import MarkdownIt from 'markdown-it';
import type { MarkdownIt as Markdown } from 'markdown-it';

const SAFE_SCHEME = /^(?:https?:|mailto:)/i;
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

export function createMarkdown(): Markdown {
  const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
  // markdown-it already refuses javascript:/vbscript:/data:; an allowlist also refuses schemes
  // nobody has thought of yet. Relative links and #anchors have no scheme and pass.
  md.validateLink = (url: string): boolean => {
    const trimmed = url.trim();
    return !ANY_SCHEME.test(trimmed) || SAFE_SCHEME.test(trimmed);
  };
  const defaultLinkOpen = md.renderer.rules.link_open;
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    const href = String(token?.attrGet('href') ?? '');
    // Following a link in the lab pane would navigate away from the attendee's terminals.
    if (token && /^https?:/i.test(href)) {
      token.attrSet('target', '_blank');
      token.attrSet('rel', 'noopener noreferrer');
    }
    return defaultLinkOpen ? defaultLinkOpen(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
  };
  return md;
}
