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
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': 'ts-jest',
  },
};
