// dataver hash <files...>: sha256sum-compatible output, hashed on all cores.
import { statSync } from 'node:fs';
import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { hashFiles, isFailure } from '../../hash/pool.js';
import { zip } from '../../util/invariants.js';

export async function run(output: Output, [files]: [string[]]): Promise<number> {
  const jobs = files.map((f) => {
    let size = 0;
    try {
      const st = statSync(f);
      if (st.isDirectory()) throw new DataverError('USAGE', `${f} is a directory`, { hint: 'give files' });
      size = st.size;
    } catch (error) {
      if (error instanceof DataverError) throw error;
      throw new DataverError('PATH_NOT_FOUND', `${f}: no such file`, { hint: 'check the path' });
    }
    return { path: f, size };
  });
  const rows = zip(files, await hashFiles(jobs)).map(([file, r]) => {
    if (isFailure(r))
      throw new DataverError('PATH_NOT_FOUND', `${file}: ${r.error}`, { hint: 'check the path' });
    return { file, hash: r.hash, size: r.size };
  });
  // sha256sum escapes names with backslashes or newlines by prefixing the line with '\'.
  output.result(rows, () =>
    rows.map((r) => {
      const needsEscape = /[\\\n]/.test(r.file);
      const name = needsEscape ? r.file.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : r.file;
      return `${needsEscape ? '\\' : ''}${r.hash}  ${name}`;
    }),
  );
  return 0;
}
