// Shell quoting for everything the server puts into a command line on a lab host: values from a
// lab's check spec (unit names, paths, URLs), typed terminal text, tmux settings. Every such value
// reaches a remote shell only through `shq`, so none can inject a command.

/** Quotes one word for a POSIX shell: wrapped in single quotes, each `'` written as `'\''`. */
export function shq(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell argument cannot contain a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes each word and joins them with spaces: `shqAll(['systemctl', 'show', name])`. */
export const shqAll = (words: readonly string[]): string => words.map(shq).join(' ');
