// The dataver that runs: its script and version, for the commands that record or report how
// dataver is started (the merge driver registration, `dataver version`, `doctor`).
import path from 'node:path';

/**
 * Absolute path of this package's `bin/dataver.js` (the script node runs for the CLI).
 *
 * @example
 * cliScript(); // '/project/node_modules/dataver/bin/dataver.js'
 */
export function cliScript(): string {
  return path.resolve(__dirname, '..', '..', 'bin', 'dataver.js');
}

/**
 * The version of this dataver package.
 *
 * @example
 * cliVersion(); // '0.1.0'
 */
export function cliVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}
