const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

/** The emulator tier's files and the deploy sequences on moto: small files, and the longest to run. */
const EMULATOR = new RegExp(`\\${path.sep}test\\${path.sep}(emulator\\${path.sep}|sequences\\${path.sep}deploys)`);

/**
 * Jest's order (files that failed last time first, then the longest by their last run), except for
 * files Jest has no timing of: it runs those after the timed ones, largest file first, so in a fresh
 * clone (no cache) the emulator files, small but the longest by far, would start last and then run
 * on their own while the other workers idle. Untimed emulator files go first.
 */
class EmulatorFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const untimedEmulator = sorted.filter((test) => test.duration == null && EMULATOR.test(test.path));
    return [...untimedEmulator, ...sorted.filter((test) => !untimedEmulator.includes(test))];
  }
}

module.exports = EmulatorFirstSequencer;
