// A tiny element builder. Text always goes in as text nodes, never as HTML, so nothing a lab or
// the server sends can become markup by accident; the one exception (server-rendered markdown)
// is set explicitly with trustedHtml().
type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/**
 * HTML rendered by the server's markdown-it with raw HTML disabled (lab text cannot carry tags);
 * the page's CSP forbids inline script as a second line of defence.
 */
export function trustedHtml(el: HTMLElement, html: string): HTMLElement {
  el.innerHTML = html;
  return el;
}
