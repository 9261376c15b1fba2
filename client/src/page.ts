// What the router mounts: a page's root element and how to tear it down (sockets, listeners).
export interface Page {
  readonly root: HTMLElement;
  dispose(): void;
}
