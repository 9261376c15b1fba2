// What a Run button types into a terminal. Shared: the browser types it, and
// `labwright test --as-attendee` types the very same keys into the host's terminal session.

/** Every line of a run block followed by Enter (a carriage return), exactly as if typed by hand. */
export function typedForm(code: string): string {
  const lines = code.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  return lines.map((l) => `${l}\r`).join('');
}
