// What running one command on a lab host gives back: one shape for every SSH exec in the project,
// provisioning's readiness probe and the server's connections (and the checks built on them).

export interface ExecResult {
  /** Exit status; null when the command died of a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Output past the caller's bound was dropped. */
  truncated: boolean;
}
