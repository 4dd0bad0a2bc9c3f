// Where the tools that the test suite needs beyond npm are on this machine (python3 with torch
// and torchvision, Chromium, mkdocs, git, git-lfs), and how to get each one on this OS.
// Used by scripts/setup-tools.js and by the test helpers, so both give the same advice.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const REQUIREMENTS = 'tools/python-requirements.txt';

/**
 * Which install instructions apply here: `debian` (apt: Debian, Ubuntu and their kin),
 * `macos` (Homebrew), `windows` (winget or Chocolatey) or `linux` (any other Linux: pip).
 *
 * @returns {'debian' | 'macos' | 'windows' | 'linux'}
 */
function platformFamily() {
  if (process.platform === 'darwin') return 'macos';
  if (process.platform === 'win32') return 'windows';
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8');
    const ids = /^(ID|ID_LIKE)=(.*)$/gm;
    for (let m = ids.exec(release); m; m = ids.exec(release)) {
      if (/\b(debian|ubuntu)\b/.test(m[2])) return 'debian';
    }
  } catch {
    // no os-release: not a distribution we know
  }
  return 'linux';
}

/** The Python interpreter of the repository's own virtual environment (`.venv`), where the docs tell users to make one. */
function venvBin(name) {
  const dir = process.platform === 'win32' ? 'Scripts' : 'bin';
  const exe = process.platform === 'win32' ? `${name}.exe` : name;
  return path.join(REPO_ROOT, '.venv', dir, exe);
}

/** `pip install` of the suite's Python tools into `.venv`, as typed on this OS. */
function venvRecipe(family) {
  if (family === 'windows')
    return `py -3.12 -m venv .venv && .venv\\Scripts\\pip install -r ${REQUIREMENTS.replace(/\//g, '\\')}`;
  return `python3 -m venv .venv && .venv/bin/pip install -r ${REQUIREMENTS}`;
}

/**
 * How to get each tool, per platform family. The Python tools outside Debian go into the
 * repository's `.venv`, which the locators below find without any PATH change.
 */
const INSTALL = {
  python: {
    debian: 'sudo apt-get install -y python3-torch python3-torchvision',
    macos: `brew install python@3.12, then: ${venvRecipe('macos')}`,
    windows: `winget install -e --id Python.Python.3.12 (or: choco install -y python312), then: ${venvRecipe('windows')}`,
    linux: venvRecipe('linux'),
  },
  chromium: {
    debian: 'sudo apt-get install -y chromium (Ubuntu: sudo snap install chromium, or install Google Chrome)',
    macos: 'brew install --cask chromium (or: brew install --cask google-chrome)',
    windows: 'winget install -e --id Google.Chrome (or: choco install -y chromium)',
    linux: 'install Chromium or Google Chrome with your package manager',
  },
  mkdocs: {
    debian: 'sudo apt-get install -y mkdocs mkdocs-material',
    macos: `brew install python@3.12, then: ${venvRecipe('macos')}`,
    windows: `winget install -e --id Python.Python.3.12, then: ${venvRecipe('windows')}`,
    linux: venvRecipe('linux'),
  },
  git: {
    debian: 'sudo apt-get install -y git',
    macos: 'brew install git (or: xcode-select --install)',
    windows: 'winget install -e --id Git.Git (or: choco install -y git)',
    linux: 'install git with your package manager',
  },
  'git-lfs': {
    debian: 'sudo apt-get install -y git-lfs',
    macos: 'brew install git-lfs',
    windows: 'winget install -e --id GitHub.GitLFS (or: choco install -y git-lfs)',
    linux: 'install git-lfs with your package manager',
  },
};

/**
 * The command that installs `tool` on this machine (or on a machine of `family`).
 *
 * @param {keyof typeof INSTALL} tool
 * @param {'debian' | 'macos' | 'windows' | 'linux'} [family]
 * @returns {string}
 * @example
 * installHint('chromium'); // 'sudo apt-get install -y chromium (Ubuntu: …)' on Debian
 */
function installHint(tool, family = platformFamily()) {
  return INSTALL[tool][family];
}

/** Runs `command args` quietly; true when it exits 0. */
function runs(command, args, timeoutMs = 120_000) {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: timeoutMs, windowsHide: true });
  return r.status === 0;
}

/** Every directory of PATH joined with `name` (and `name.exe` on Windows) that exists, in PATH order. */
function onPath(name) {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  // Windows: only .exe files, which start without a shell (a .cmd would need one).
  const names = process.platform === 'win32' ? [`${name}.exe`] : [name];
  const found = [];
  for (const dir of dirs) {
    for (const n of names) {
      const candidate = path.join(dir, n);
      try {
        if (fs.statSync(candidate).isFile()) found.push(candidate);
      } catch {
        // not there
      }
    }
  }
  return found;
}

const unique = (list) => [...new Set(list)];

/**
 * Python interpreters worth trying, best first: `DATAVER_PYTHON`; the repository's `.venv`;
 * on Linux Debian's own `/usr/bin/python3` (python3-torch is installed for it, and a pyenv
 * `python3` earlier on PATH would lack it); then `python3`, `python` and Windows' `py` on PATH.
 */
function pythonCandidates() {
  const list = [];
  if (process.env.DATAVER_PYTHON) list.push(process.env.DATAVER_PYTHON);
  list.push(venvBin('python'));
  if (process.platform === 'linux') list.push('/usr/bin/python3');
  list.push(...onPath('python3'), ...onPath('python'));
  return unique(list).filter((p) => fs.existsSync(p));
}

const pythonMemo = new Map();

/**
 * The first Python interpreter that can import every module of `modules`.
 *
 * @param {string[]} modules e.g. `['torch']` or `['torch', 'torchvision']`
 * @returns {{ path: string } | { path: undefined, tried: string[], hint: string }}
 * @example
 * const python = locatePython(['torch']);
 * if (python.path) spawnSync(python.path, ['-c', 'import torch']);
 */
function locatePython(modules) {
  const key = modules.join(',');
  const known = pythonMemo.get(key);
  if (known) return known;
  const tried = pythonCandidates();
  const code = modules.map((m) => `import ${m}`).join('; ') || 'pass';
  const found = tried.find((candidate) => runs(candidate, ['-c', code]));
  const result = found ? { path: found } : { path: undefined, tried, hint: installHint('python') };
  pythonMemo.set(key, result);
  return result;
}

/** Where Chromium or Google Chrome is usually installed on this OS, besides PATH. */
function chromiumInstallPaths() {
  if (process.platform === 'darwin') {
    return [
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    ];
  }
  if (process.platform === 'win32') {
    const roots = [process.env.PROGRAMFILES, process.env['PROGRAMFILES(X86)'], process.env.LOCALAPPDATA];
    return roots
      .filter(Boolean)
      .flatMap((root) => [
        path.join(root, 'Google', 'Chrome', 'Application', 'chrome.exe'),
        path.join(root, 'Chromium', 'Application', 'chrome.exe'),
      ]);
  }
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium', '/usr/bin/google-chrome'];
}

/**
 * A Chromium or Chrome executable for playwright-core: `DATAVER_CHROMIUM` (or `CHROME_PATH`),
 * then the usual install places of this OS, then PATH.
 *
 * @returns {{ path: string } | { path: undefined, hint: string }}
 * @example
 * const chromium = locateChromium();
 * await chromium.launch({ executablePath: chromium.path, args: ['--headless', '--no-sandbox'] });
 */
function locateChromium() {
  const override = process.env.DATAVER_CHROMIUM || process.env.CHROME_PATH;
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
  const candidates = [
    ...(override ? [override] : []),
    ...chromiumInstallPaths(),
    ...names.flatMap((n) => onPath(n)),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  return found ? { path: found } : { path: undefined, hint: installHint('chromium') };
}

/**
 * A command on PATH (or in the repository's `.venv`, for mkdocs) that runs `--version`.
 *
 * @param {'mkdocs' | 'git' | 'git-lfs'} tool
 * @returns {{ path: string } | { path: undefined, hint: string }}
 * @example
 * locateCommand('mkdocs').path; // '/usr/bin/mkdocs'
 */
function locateCommand(tool) {
  const envName = `DATAVER_${tool.replace(/-/g, '_').toUpperCase()}`;
  const candidates = [
    ...(process.env[envName] ? [process.env[envName]] : []),
    ...(tool === 'mkdocs' ? [venvBin('mkdocs')] : []),
    ...onPath(tool),
  ].filter((p) => fs.existsSync(p));
  const args = tool === 'git-lfs' ? ['version'] : ['--version'];
  const found = candidates.find((p) => runs(p, args, 30_000));
  return found ? { path: found } : { path: undefined, hint: installHint(tool) };
}

module.exports = {
  REPO_ROOT,
  TOOL_NAMES: Object.keys(INSTALL),
  platformFamily,
  installHint,
  locatePython,
  locateChromium,
  locateCommand,
};
