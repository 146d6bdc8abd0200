/**
 * CloudFormation's hour (lib/shared/runtime/deadline.ts): a poll past
 * REQUEST_DEADLINE_SECONDS after onEvent starts nothing and fails the request.
 */
import { checkDeadline, REQUEST_DEADLINE_SECONDS, requestedNow } from '../../../lib/shared/runtime/deadline';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const at = (secondsBefore: number) => new Date(NOW - secondsBefore * 1000).toISOString();

beforeEach(() => {
  jest.useFakeTimers({ now: NOW });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

test('requestedNow is the time now, as ISO 8601', () => {
  expect(requestedNow()).toBe('2026-12-03T12:00:00.000Z');
});

test('exactly at the deadline the poll goes on; a second later it fails', () => {
  expect(() => checkDeadline(at(REQUEST_DEADLINE_SECONDS), 'The image')).not.toThrow();
  expect(() => checkDeadline(at(REQUEST_DEADLINE_SECONDS + 1), 'The image')).toThrow(/^The image was not done 57 minutes after the request/);
});

test('the failure says how long it has been, in minutes, and what to change', () => {
  expect(() => checkDeadline(at(80 * 60 + 20), 'The distribution of ami-1')).toThrow(
    'The distribution of ami-1 was not done 80 minutes after the request: CloudFormation waits at most an hour for a custom resource, ' +
    'so this poll starts nothing more and fails the request. Raise queryInterval (fewer polls, less time spent invoking them) or the wait (waits over 55 minutes use a wait condition)',
  );
});

test('an event without RequestedAt (from a handler of before) is not bounded', () => {
  expect(() => checkDeadline(undefined, 'The image')).not.toThrow();
});
