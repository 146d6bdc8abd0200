/**
 * CloudFormation's hour, simulated for one request: the Provider framework's
 * waiter counts only its intervals (`queryInterval` times the attempts), but
 * each poll is an invocation that takes time of its own, and CloudFormation
 * stops waiting for a custom resource after an hour at most (`ServiceTimeout`,
 * 1-3600 s: CloudFormation User Guide, "Custom resources"). Only `Date` is
 * faked, so the bundled handlers (loaded in this test environment) read the
 * simulated time while the SDK's timers and sockets run for real.
 */
import type { ProviderFramework } from '../emulator/harness/cloudformation';

/** pollSeconds' default interval plus an invocation's own time (a few EC2 calls, retried under throttling). */
export const SECONDS_PER_POLL = 30 + 12;
/** CloudFormation's wait for a custom resource's answer, at most. */
export const CLOUDFORMATION_SECONDS = 3600;

const REAL = ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] as const;

/** Runs `body` (one request through `framework`) with the clock at `poll` times {@link SECONDS_PER_POLL} after its start at each poll. */
export async function withSimulatedPolls<T>(framework: ProviderFramework, body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  jest.useFakeTimers({ now: start, doNotFake: [...REAL] });
  framework.onPoll = (poll) => jest.setSystemTime(start + poll * SECONDS_PER_POLL * 1000);
  try {
    return await body();
  } finally {
    framework.onPoll = undefined;
    jest.useRealTimers();
  }
}
