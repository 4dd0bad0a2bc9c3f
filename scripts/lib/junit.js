// Writes jest's --json result as JUnit XML, the test-report format CI services display,
// so the reports need no extra jest reporter package.

const fs = require('node:fs');
const path = require('node:path');

const escapeXml = (text) =>
  String(text)
    // jest failure messages carry ANSI colours, and XML 1.0 cannot hold control characters.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/\u001b\[[0-9;]*m/g, '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/**
 * Writes `file` (JUnit XML) from a jest `--json` result; test file paths are made relative to `root`.
 *
 * @param {{ testResults: Array<{ name: string, message?: string, startTime: number, endTime: number, assertionResults: Array<{ fullName: string, title: string, status: string, duration?: number | null, failureMessages: string[] }> }> }} result
 * @param {string} file
 * @param {string} root
 * @example
 * writeJunit(JSON.parse(fs.readFileSync('jest.json', 'utf8')), 'junit.xml', process.cwd());
 */
function writeJunit(result, file, root) {
  const suites = result.testResults.map((suite) => {
    const name = path.relative(root, suite.name).split(path.sep).join('/');
    const cases = suite.assertionResults.map((t) => {
      const time = ((t.duration ?? 0) / 1000).toFixed(3);
      const open = `    <testcase classname="${escapeXml(name)}" name="${escapeXml(t.fullName || t.title)}" time="${time}"`;
      if (t.status === 'failed') {
        const message = t.failureMessages.join('\n');
        return `${open}>\n      <failure message="${escapeXml(message.split('\n')[0])}">${escapeXml(message)}</failure>\n    </testcase>`;
      }
      if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo')
        return `${open}>\n      <skipped/>\n    </testcase>`;
      return `${open}/>`;
    });
    // A file that failed to run at all (a syntax error, a throw at load) has no test cases.
    if (suite.assertionResults.length === 0 && suite.message) {
      cases.push(
        `    <testcase classname="${escapeXml(name)}" name="${escapeXml(name)}" time="0">\n      <error message="test file failed to run">${escapeXml(suite.message)}</error>\n    </testcase>`,
      );
    }
    const failures = suite.assertionResults.filter((t) => t.status === 'failed').length;
    const errors = suite.assertionResults.length === 0 && suite.message ? 1 : 0;
    const skipped = suite.assertionResults.filter(
      (t) => t.status !== 'failed' && t.status !== 'passed',
    ).length;
    const time = (((suite.endTime ?? 0) - (suite.startTime ?? 0)) / 1000).toFixed(3);
    return `  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  fs.writeFileSync(
    file,
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="jest">\n${suites.join('\n')}\n</testsuites>\n`,
  );
}

module.exports = { writeJunit };
