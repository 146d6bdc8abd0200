import { log } from './log';

/**
 * CloudFormation waits at most an hour for a custom resource's answer
 * (`ServiceTimeout`, 1-3600 s, counted from its request: CloudFormation User
 * Guide, "Custom resources", ServiceTimeout), then fails the resource and
 * moves on, to a rollback that deletes what it knows of. The Provider
 * framework's waiter counts only its intervals, not the time of each
 * invocation, so with a short `queryInterval` it can poll past that hour.
 * A poll past this deadline, counted from onEvent's answer, starts nothing
 * (no CreateImage, no CopyImage that the rollback could no longer see) and
 * fails the request, so the framework answers before CloudFormation gives up:
 * 57 minutes leave 3 for the onEvent call before it and one last invocation
 * (the handlers' timeout is 2 minutes).
 */
export const REQUEST_DEADLINE_SECONDS = 57 * 60;

/** The time onEvent answered, which the framework passes on to every poll. */
export function requestedNow(): string {
  return new Date().toISOString();
}

/** Throws once `REQUEST_DEADLINE_SECONDS` have passed since `requestedAt` (an event without it, from an older handler, is not bounded). */
export function checkDeadline(requestedAt: string | undefined, what: string): void {
  if (requestedAt === undefined) return;
  const seconds = (Date.now() - Date.parse(requestedAt)) / 1000;
  if (seconds > REQUEST_DEADLINE_SECONDS) {
    log.error('past the request deadline: starting nothing', { requestedAt, seconds: Math.round(seconds) });
    throw new Error(
      `${what} was not done ${Math.round(seconds / 60)} minutes after the request: CloudFormation waits at most an hour for a custom resource, ` +
      'so this poll starts nothing more and fails the request. Raise queryInterval (fewer polls, less time spent invoking them) or the wait (waits over 55 minutes use a wait condition)',
    );
  }
}
