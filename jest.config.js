// One jest run over all packages. TypeScript is compiled on the fly by swc;
// integration tests run the built CLIs (dist/), which `npm test` builds first.
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
  testTimeout: 60000,
  slowTestThreshold: 20,
};
