// dataver doctor [--no-remote] [--json]: exit 1 when something must be fixed.
// It only looks: it leaves the leftovers it reports in place (every other command sweeps them).
import type { Output } from '@dataver/foundation';
import { diagnose } from '../../core/doctor.js';
import { Repo } from '../../core/repo.js';

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

export async function run(output: Output, _args: unknown[], options: { remote?: boolean }): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const checks = await diagnose(repo, { remote: options.remote !== false });
  const healthy = checks.every((c) => c.ok);
  output.result({ ok: healthy, checks }, () => {
    const width = Math.max(...checks.map((c) => c.name.length));
    const lines = checks.flatMap((c) => [
      `${MARK[c.level]}  ${c.name.padEnd(width)}  ${c.message}`,
      ...(c.hint && c.level !== 'ok' ? [`      ${' '.repeat(width)}  → ${c.hint}`] : []),
    ]);
    const failed = checks.filter((c) => !c.ok).length;
    lines.push('', failed === 0 ? 'No problems found.' : `${failed} problem(s) to fix.`);
    return lines;
  });
  return healthy ? 0 : 1;
}
