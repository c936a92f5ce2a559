// Jest runs the TypeScript sources as native ES modules through SWC (fast, no type check:
// `npm run build` is the type check). Tests read fixtures from ../shared and write to temp dirs.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
    }],
  },
  testTimeout: 60000,
  // Two workers on the 2-core machines: most multi-process tests wait on their nodes rather than
  // compute, so two files at a time took the suite from ~440 s to ~270 s, all passing.
  maxWorkers: 2,
};
