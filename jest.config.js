// One jest run over all packages. TypeScript is compiled on the fly by swc;
// integration tests run the built CLIs (dist/), which `npm test` builds first.
const os = require('node:os');

// Most test files spend their time waiting on child processes (the CLIs, git, the GCS emulator,
// python, npm) rather than computing, so two workers overlap that waiting even on two cores;
// with more cores, one worker per core but one, which the children of the tests use.
// JEST_MAX_WORKERS overrides (e.g. 1 to debug).
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const maxWorkers = Number(process.env.JEST_MAX_WORKERS) || Math.max(2, cores - 1);

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/test',
    '<rootDir>/packages/foundation/test',
    '<rootDir>/packages/tensor/test',
    '<rootDir>/packages/dataver/test',
    '<rootDir>/packages/corrupt-mnist/test',
    '<rootDir>/packages/trainer/test',
  ],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  maxWorkers,
  // A bound for a test that hangs, not for a slow machine: a test that needs longer says so
  // itself, and none may fail because the machine is busy.
  testTimeout: 300_000,
  slowTestThreshold: 20,
};
