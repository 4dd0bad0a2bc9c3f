// Validates Kubernetes manifests against the Kubernetes OpenAPI schemas that the npm package
// kubernetes-models ships (ESM only, hence a separate script): prints one JSON line per document.
import * as fs from 'node:fs';
import { parseAllDocuments } from 'yaml';

const results = [];
// Arguments: manifest files, or `-` to read one JSON array of {file, value} objects from stdin.
const inputs =
  process.argv[2] === '-'
    ? JSON.parse(fs.readFileSync(0, 'utf8'))
    : process.argv
        .slice(2)
        .flatMap((file) =>
          parseAllDocuments(fs.readFileSync(file, 'utf8')).map((doc) => ({ file, value: doc.toJS() })),
        );
for (const { file, value } of inputs) {
  {
    if (value.apiVersion.startsWith('kustomize.config.k8s.io/')) {
      results.push({ file, kind: value.kind, skipped: 'kustomize configuration, not a Kubernetes object' });
      continue;
    }
    const mod = await import(`kubernetes-models/${value.apiVersion}/${value.kind}`);
    const Model = mod[value.kind] ?? mod.default;
    try {
      new Model(value).validate();
      results.push({ file, kind: value.kind, apiVersion: value.apiVersion, valid: true });
    } catch (error) {
      results.push({
        file,
        kind: value.kind,
        apiVersion: value.apiVersion,
        valid: false,
        error: String(error.message ?? error),
      });
    }
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
