#!/usr/bin/env node
// Before publishing: checks that a release tag (v1.2.3) names the version all five packages
// carry, that they pin each other at that version, that each has the fields publishing needs
// (licence, repository, files, provenance) and that no changeset is left unapplied. Run by
// .github/workflows/release.yml; prints every problem and exits 1 when there is one.
//
//   node scripts/release-check.js v0.2.0

const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..');
const DIRS = ['foundation', 'tensor', 'dataver', 'corrupt-mnist', 'trainer'];

/**
 * Every problem that stops `tag` from being published, as one line each.
 *
 * @param {string} tag e.g. `v0.2.0`
 * @param {{ repository?: string, root?: string }} options `repository`: the GitHub `owner/name`
 *   running the release; `root`: the repository folder (default: this one)
 * @returns {string[]}
 * @example
 * releaseProblems('v0.1.0', { repository: process.env.GITHUB_REPOSITORY });
 */
function releaseProblems(tag, options = {}) {
  const root = options.root ?? REPO_ROOT;
  const problems = [];
  const match = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(tag ?? '');
  if (!match) return [`"${tag}" is not a release tag: use v<major>.<minor>.<patch>, e.g. v0.2.0`];
  const version = match[1];
  const manifests = DIRS.map((dir) => ({
    dir,
    manifest: JSON.parse(fs.readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8')),
  }));
  const names = new Set(manifests.map((m) => m.manifest.name));
  for (const { dir, manifest: m } of manifests) {
    const where = `packages/${dir}/package.json (${m.name})`;
    if (m.version !== version) problems.push(`${where}: version ${m.version}, but the tag says ${version}`);
    for (const [dep, range] of Object.entries({ ...m.dependencies, ...m.optionalDependencies })) {
      if (names.has(dep) && range !== version)
        problems.push(
          `${where}: depends on ${dep}@${range}, expected ${version} (run npm run version-packages)`,
        );
    }
    if (m.private) problems.push(`${where}: is private`);
    if (m.license !== 'MIT') problems.push(`${where}: license is ${m.license}, expected MIT`);
    if (!fs.existsSync(path.join(root, 'packages', dir, 'LICENSE')))
      problems.push(`${where}: no LICENSE file`);
    if (!fs.existsSync(path.join(root, 'packages', dir, 'README.md')))
      problems.push(`${where}: no README.md`);
    if (!Array.isArray(m.files) || !m.files.includes('dist')) problems.push(`${where}: files must list dist`);
    if (m.publishConfig?.provenance !== true)
      problems.push(`${where}: publishConfig.provenance must be true`);
    if (m.publishConfig?.access !== 'public') problems.push(`${where}: publishConfig.access must be public`);
    const url = m.repository?.url ?? '';
    // npm accepts a provenance statement only from the repository the package names.
    if (options.repository) {
      const expected = `github.com/${options.repository}`.toLowerCase();
      if (
        !url
          .toLowerCase()
          .replace(/\.git$/, '')
          .endsWith(expected)
      )
        problems.push(
          `${where}: repository.url is ${url || 'missing'}, but this release runs in ${options.repository}`,
        );
    } else if (!url) {
      problems.push(`${where}: repository.url is missing`);
    }
  }
  const pending = fs
    .readdirSync(path.join(root, '.changeset'))
    .filter((f) => f.endsWith('.md') && f !== 'README.md');
  if (pending.length > 0)
    problems.push(`unapplied changesets (${pending.join(', ')}): run npm run version-packages and commit`);
  return problems;
}

if (require.main === module) {
  const tag = process.argv[2] ?? process.env.GITHUB_REF_NAME;
  const problems = releaseProblems(tag, { repository: process.env.GITHUB_REPOSITORY });
  for (const p of problems) console.error(`release-check: ${p}`);
  if (problems.length === 0)
    console.log(`release-check: ${tag} is ready to publish (${DIRS.length} packages)`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}

module.exports = { releaseProblems };
