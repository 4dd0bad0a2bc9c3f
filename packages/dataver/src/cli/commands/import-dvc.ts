// dataver import-dvc [--from-cache DIR | --from-remote NAME] [--force]: convert the DVC project
// in the current folder (its .dvc files, dvc.yaml, dvc.lock, params and .dvc/config remotes).
import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';

export async function run(
  output: Output,
  _args: unknown[],
  options: { fromCache?: string | true; fromRemote?: string; force?: boolean },
): Promise<number> {
  if (options.fromCache !== undefined && options.fromRemote !== undefined) {
    throw new DataverError('USAGE', '--from-cache and --from-remote cannot be used together', {
      hint: 'take the data from one of them; run the command again for the rest',
    });
  }
  const { importDvc } =
    require('../../pipeline/dvc-import.js') as typeof import('../../pipeline/dvc-import.js');
  const result = await importDvc(process.cwd(), {
    fromCache: options.fromCache === true ? '.dvc/cache' : options.fromCache,
    fromRemote: options.fromRemote,
    force: options.force,
    env: process.env,
  });
  output.result(result, () => {
    const lines: string[] = [];
    for (const o of result.outputs) {
      const via = o.source === 'workspace' ? 'workspace' : `from the DVC ${o.source}`;
      lines.push(
        `imported  ${o.path}  (${o.from}, ${via}${o.md5 ? `, md5 ${o.md5.slice(0, 8)} checked` : ''}${o.hash ? ` → sha256 ${o.hash.slice(0, 12)}` : ''})`,
      );
    }
    for (const s of result.stages) {
      lines.push(
        s.recorded
          ? `recorded  stage ${s.stage} (dvc.lock matches the workspace)`
          : `stale     stage ${s.stage}: ${s.why}`,
      );
    }
    for (const r of result.remotes) {
      lines.push(`remote    ${r.name} ${r.url}${r.name === result.defaultRemote ? ' (default)' : ''}`);
    }
    if (result.notes.length > 0) {
      lines.push('Not carried over, or carried over differently:');
      for (const n of result.notes) lines.push(`  - ${n.what}: ${n.why}`);
    }
    lines.push(
      `Wrote ${result.wrote.join(', ')}. Commit them with git; then \`dataver push\` to fill the remote.`,
    );
    return lines;
  });
  return 0;
}
