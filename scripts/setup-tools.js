#!/usr/bin/env node
// Makes sure the tools the test suite needs beyond npm are there: on Debian as root (or with
// passwordless sudo) it installs what is missing with apt, idempotently; elsewhere it names each
// missing tool with the command that installs it on this OS and exits 1. Then it installs the
// pinned GCS emulator. Silent and quick when everything is already there.
//
//   node scripts/setup-tools.js            check, install what it can, report the rest
//   node scripts/setup-tools.js --check    only check and report; install nothing

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {
  REPO_ROOT,
  installHint,
  locateChromium,
  locateCommand,
  locatePython,
  platformFamily,
} = require('./lib/tools.js');

const checkOnly = process.argv.includes('--check');
const family = platformFamily();

function log(message) {
  console.log(`setup-tools: ${message}`);
}

function dpkgHas(pkg) {
  return spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status === 0;
}

const isUbuntu = () => {
  try {
    return /^ID=ubuntu$/m.test(fs.readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
};

/**
 * Each tool: why the suite needs it, whether it is optional, how to tell it is there, and the
 * Debian packages that provide it.
 */
const TOOLS = [
  {
    name: 'git',
    why: 'integration tests run the CLIs in temporary git repositories',
    present: () => Boolean(locateCommand('git').path),
    debian: ['git'],
  },
  {
    name: 'python',
    why: 'python3 with torch and torchvision: .pt interop and course-recipe parity tests',
    // dpkg first: it answers in milliseconds, importing torch takes a second or more.
    present: () =>
      (family === 'debian' &&
        !process.env.DATAVER_PYTHON &&
        fs.existsSync('/usr/bin/python3') &&
        dpkgHas('python3-torch') &&
        dpkgHas('python3-torchvision')) ||
      Boolean(locatePython(['torch', 'torchvision']).path),
    debian: ['python3-torch', 'python3-torchvision'],
  },
  {
    name: 'mkdocs',
    why: 'mkdocs with the material theme: the strict docs build',
    present: () => {
      const found = locateCommand('mkdocs').path;
      // Debian's mkdocs finds its theme only in Debian's own package.
      return Boolean(found) && (found !== '/usr/bin/mkdocs' || dpkgHas('mkdocs-material'));
    },
    debian: ['mkdocs', 'mkdocs-material'],
  },
  {
    name: 'chromium',
    why: 'Chromium or Google Chrome: the browser tests of the drawing page',
    present: () => Boolean(locateChromium().path),
    // Ubuntu's chromium is a snap, not an apt package.
    debian: isUbuntu() ? [] : ['chromium'],
  },
  {
    name: 'git-lfs',
    why: 'git-lfs: the anchor of the transfer benchmark (not needed by the tests)',
    optional: true,
    present: () => Boolean(locateCommand('git-lfs').path),
    debian: ['git-lfs'],
  },
];

/** The prefix that runs apt-get as root, or undefined when this process cannot. */
function asRoot() {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return [];
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return undefined;
}

function aptInstall(prefix, packages) {
  // Wait for another apt/dpkg run instead of failing on its lock.
  const aptOptions = ['-o', 'DPkg::Lock::Timeout=600', '-o', 'Acquire::Retries=3'];
  const run = (args) => {
    const [command, ...rest] = [...prefix, ...args];
    return spawnSync(command, rest, {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });
  };
  const update = run(['apt-get', ...aptOptions, 'update']);
  const install =
    update.status === 0
      ? run(['apt-get', ...aptOptions, 'install', '-y', '--no-install-recommends', ...packages])
      : update;
  if (install.status !== 0) {
    process.stderr.write(`${update.stdout ?? ''}${update.stderr ?? ''}`);
    if (install !== update) process.stderr.write(`${install.stdout ?? ''}${install.stderr ?? ''}`);
    log(`apt-get failed installing: ${packages.join(' ')}`);
    return false;
  }
  for (const pkg of packages) log(`installed ${pkg}`);
  return true;
}

function main() {
  let missing = TOOLS.filter((tool) => !tool.present());
  const aptPackages = [...new Set(missing.flatMap((tool) => tool.debian))];
  if (!checkOnly && family === 'debian' && aptPackages.length > 0) {
    const prefix = asRoot();
    if (prefix) {
      aptInstall(prefix, aptPackages);
      missing = missing.filter((tool) => !tool.present());
    }
  }
  let failed = false;
  for (const tool of missing) {
    const line = `${tool.optional ? 'optional, ' : ''}missing ${tool.name} (${tool.why}); install with:\n  ${installHint(tool.name)}`;
    if (tool.optional) log(line);
    else {
      console.error(`setup-tools: ${line}`);
      failed = true;
    }
  }
  if (failed) {
    console.error(
      'setup-tools: the tests that need a missing tool will fail with the same advice; set DATAVER_PYTHON, DATAVER_CHROMIUM or DATAVER_MKDOCS to use one that is installed elsewhere',
    );
  }
  const ensure = path.join(REPO_ROOT, 'tools', 'gcs-emulator', 'ensure.js');
  if (fs.existsSync(ensure)) {
    const r = spawnSync(process.execPath, [ensure, '--quiet'], { stdio: 'inherit' });
    if (r.status !== 0) failed = true;
  }
  process.exitCode = failed ? 1 : 0;
}

main();
