/**
 * The handlers' logger: one JSON object per line on stdout, with its level, its
 * message, the keys appended for the invocation and the line's own fields.
 */
import { appendKeys, log } from '../../../lib/shared/runtime/log';

let lines: string[];
beforeEach(() => {
  lines = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => { lines.push(line); });
});
afterEach(() => jest.restoreAllMocks());

test('each level writes one JSON line with its level and message, without fields when none are given', () => {
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  expect(lines.map((l) => JSON.parse(l))).toEqual([
    { level: 'DEBUG', message: 'd' },
    { level: 'INFO', message: 'i' },
    { level: 'WARN', message: 'w' },
    { level: 'ERROR', message: 'e' },
  ]);
  expect(lines.every((l) => !l.includes('\n'))).toBe(true);
});

test('a line\'s fields, then the appended keys on every following line; a line\'s own field wins over an appended key', () => {
  log.info('before', { imageId: 'ami-1' });
  appendKeys({ requestId: 'request-1', trigger: 'create' });
  log.warn('after', { trigger: 'update', snapshotId: 'snap-1' });
  appendKeys({ requestId: 'request-2' });
  log.error('later');
  expect(lines.map((l) => JSON.parse(l))).toEqual([
    { level: 'INFO', message: 'before', imageId: 'ami-1' },
    { level: 'WARN', message: 'after', requestId: 'request-1', trigger: 'update', snapshotId: 'snap-1' },
    { level: 'ERROR', message: 'later', requestId: 'request-2', trigger: 'create' },
  ]);
});
