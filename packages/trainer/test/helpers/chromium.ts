// The Chromium (or Google Chrome) that playwright-core drives in the browser tests, found per OS
// by scripts/lib/tools.js: DATAVER_CHROMIUM or CHROME_PATH, the usual install places, then PATH.

const { locateChromium } = require('../../../../scripts/lib/tools.js') as {
  locateChromium(): { path?: string; hint?: string };
};

/**
 * The browser executable, or an error that says how to install one on this OS.
 *
 * @example
 * const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--headless', '--no-sandbox'] });
 */
export function chromiumPath(): string {
  const found = locateChromium();
  if (found.path) return found.path;
  throw new Error(
    `Chromium or Google Chrome is required for the browser tests and none was found; install it with: ${found.hint} — or point DATAVER_CHROMIUM at the executable`,
  );
}
