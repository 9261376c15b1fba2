// The "Run on hostN" hook: the terminal feature installs the real implementation (type the code
// into that host's terminal); when it delivers nothing the button says terminals are not connected yet.
export type RunCommand = (host: string, code: string) => boolean;

let impl: RunCommand = () => false;

/** Installed by the terminal feature; returns whether the command was delivered. */
export function setRunCommand(fn: RunCommand): void {
  impl = fn;
}

export function runCommand(host: string, code: string): boolean {
  return impl(host, code);
}
