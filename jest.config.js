const os = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Jest's default is one worker fewer than the cores: on a 2-core CI machine, one. The emulator
  // files spend much of their time waiting (on moto_server, a process of its own, and on the SDK's
  // retry backoff), so one worker more than the cores overlaps that waiting with the template
  // tests' CPU work (bench/results.md). A number, not a percentage: Jest reads a percentage over
  // 100% ('150%') as that many workers (150), and started one worker per test file.
  maxWorkers: (os.availableParallelism?.() ?? os.cpus().length) + 1,
  testSequencer: '<rootDir>/jest.sequencer.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The emulator tier again on EC2 client 3.817.0 (lifecycle-pre3819.test.ts): `npm run test:pre3819` and
  // `npm run test:emulator` run it, and CI after `npm test`; `npm test` leaves it out (about 7 s of its CPU).
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.PRE3819 ? [] : ['/test/emulator/lifecycle-pre3819\\.test\\.ts$'])],
  // TypeScript to JavaScript with esbuild (already the handlers' bundler), with the project's
  // compiler options: no type check here, as with ts-jest under isolatedModules; `npm run build`
  // (tsc --noEmit) type-checks, in .ci/run before the tests. A fresh clone's first run transforms
  // every file: ts-jest loaded TypeScript in each worker (1.2 s of CPU for one test file's imports),
  // and the fresh suite took 99.4 s against 87.5 s with esbuild (bench/results.md).
  transform: {
    '^.+\\.tsx?$': ['esbuild-jest-transform', { format: 'cjs', target: 'es2022', tsconfigRaw: require('./tsconfig.json') }],
  },
};
