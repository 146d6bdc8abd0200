/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Jest's default is one worker fewer than the cores: on a 2-core CI machine, one. The emulator
  // files spend most of their time waiting (on moto_server, a process of its own, and on the SDK's
  // retry backoff), so one worker more than the cores overlaps that waiting with the template
  // tests' CPU work: on 2 cores, 3 workers ran npm test in 39 s against 45 s with 2 (bench/results.md).
  maxWorkers: '150%',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': 'ts-jest',
  },
};
