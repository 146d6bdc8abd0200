// @ts-check
/**
 * Mutation testing of the Lambda handlers (npm run mutation; not part of npm test or CI: about
 * 75 minutes on 2 cores for a full run, bench/results.md). Every file under lib/**\/runtime/ is mutated and judged by the unit tests
 * that cover handler code (test/**\/runtime/); the emulator tier is left out (a minute a run).
 * Reports: reports/mutation/ (HTML and JSON, ignored by git).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  plugins: ['@stryker-mutator/jest-runner', './stryker/ignore-log-messages.mjs'],
  // LogMessages: log lines for a person; EquivalentMutants: the listed mutants no input can tell apart, each with
  // its reason (both in stryker/ignore-log-messages.mjs).
  ignorers: ['LogMessages', 'EquivalentMutants'],
  mutate: ['lib/**/runtime/**/*.ts', '!lib/**/runtime/types.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    config: { testMatch: ['<rootDir>/test/**/runtime/**/*.test.ts'], testSequencer: '@jest/test-sequencer' },
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: null },
  concurrency: 2,
  // A Jest runner's heap grows with every mutant it runs (the first run ran out of its 4 GB after about 400):
  // a fresh one every 40 runs.
  maxTestRunnerReuse: 40,
  timeoutMS: 20000,
  // A run keeps its results (reports/stryker-incremental.json): the next run tests again only the mutants whose
  // code or covering tests changed.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
