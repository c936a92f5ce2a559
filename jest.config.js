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
  // Two workers on the 2-core machines (three was slower: the cores are ~90% busy with two). The suite
  // is CPU-bound at ~305 s (2026-12-02): ~550 s of CPU, of which node processes ~200 s (83 starts at
  // ~1.3 s each to serving: module loading ~0.6 s, the self-test ~0.2 s), CLI processes ~35 s, the two
  // jest workers ~240 s (in-process tests and the e2e clients).
  maxWorkers: 2,
};
