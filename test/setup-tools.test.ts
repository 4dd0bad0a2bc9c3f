// The tool lookup shared by scripts/setup-tools.js and the test helpers (scripts/lib/tools.js):
// every tool has an install command for Debian/Ubuntu (apt), macOS (brew), Windows
// (winget/choco) and other Linux; DATAVER_PYTHON is tried first and skipped when it cannot
// import what is asked; the setup check passes on a machine that has everything.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const TOOLS = path.join(ROOT, 'scripts', 'lib', 'tools.js');
const { installHint, TOOL_NAMES } = require(TOOLS) as {
  installHint(tool: string, family?: string): string;
  TOOL_NAMES: string[];
};

/** locatePython in a fresh process with this environment (the lookup is memoized per process). */
function locatePythonWith(env: NodeJS.ProcessEnv, modules: string[]): { path?: string; hint?: string } {
  const code = `process.stdout.write(JSON.stringify(require(${JSON.stringify(TOOLS)}).locatePython(${JSON.stringify(modules)})))`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { path?: string; hint?: string };
}

test('every tool has an install command per platform: apt, brew, winget/choco, pip', () => {
  expect(TOOL_NAMES.sort()).toEqual(['chromium', 'git', 'git-lfs', 'mkdocs', 'python']);
  for (const tool of TOOL_NAMES) {
    expect(installHint(tool, 'debian')).toMatch(/apt-get install -y /);
    expect(installHint(tool, 'macos')).toMatch(/\bbrew install\b/);
    expect(installHint(tool, 'windows')).toMatch(/\b(winget|choco) install\b/);
    expect(installHint(tool, 'linux')).toEqual(expect.any(String));
  }
  expect(installHint('python', 'debian')).toContain('python3-torchvision');
  expect(installHint('python', 'macos')).toContain('tools/python-requirements.txt');
  expect(installHint('python', 'windows')).toContain('tools\\python-requirements.txt');
});

const posix = process.platform !== 'win32';
if (!posix)
  console.log('DATAVER_PYTHON lookup test skipped on Windows: it fakes an interpreter with a shell script');
(posix ? test : test.skip)(
  'DATAVER_PYTHON comes first, and is passed over when it cannot import the modules',
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-'));
    try {
      const yes = path.join(dir, 'python-yes');
      const no = path.join(dir, 'python-no');
      fs.writeFileSync(yes, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      fs.writeFileSync(no, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      expect(locatePythonWith({ DATAVER_PYTHON: yes }, ['torch']).path).toBe(yes);
      expect(locatePythonWith({ DATAVER_PYTHON: no }, ['torch']).path).not.toBe(no);
      const none = locatePythonWith({ DATAVER_PYTHON: no, PATH: dir }, ['no_such_module_for_sure']);
      expect(none.path).toBeUndefined();
      expect(none.hint).toEqual(installHint('python'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('the setup check passes here and names nothing as missing', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'setup-tools.js'), '--check'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
