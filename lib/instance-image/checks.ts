import { Duration, Token } from 'aws-cdk-lib';
import type { InstanceImageProps } from './props';
import { IMAGE_NAME_MIN_LENGTH, IMAGE_NAME_PATTERN, IMAGE_NAME_PREFIX_MAX_LENGTH } from './shared';

/**
 * Checks shared by the construct's props and the app's context keys, which
 * have the same names: each returns the message for a bad value, naming the
 * option and showing the value, or `undefined` when the value is good.
 * Callers skip unresolved tokens.
 */

const show = (value: unknown) => JSON.stringify(value);

export function checkImageName(value: string): string | undefined {
  if (value.length < IMAGE_NAME_MIN_LENGTH || value.length > IMAGE_NAME_PREFIX_MAX_LENGTH || !IMAGE_NAME_PATTERN.test(value)) {
    return `imageName must be ${IMAGE_NAME_MIN_LENGTH}-${IMAGE_NAME_PREFIX_MAX_LENGTH} characters of [A-Za-z0-9()[] ./'@_-] ` +
      `(EC2 allows 128 for the whole name; the last 17 are the content hash), got ${show(value)}`;
  }
  return undefined;
}

export function checkDescription(value: string, option = 'description'): string | undefined {
  return value.length > 255 ? `${option} must be at most 255 characters (EC2's limit), got ${value.length}` : undefined;
}

/** An instance id: `i-` and 8 or 17 hex digits. */
export function checkInstanceId(value: string, option = 'instanceId'): string | undefined {
  return /^i-([0-9a-f]{8}|[0-9a-f]{17})$/.test(value) ? undefined : `${option} must be i- and 8 or 17 hex digits, such as i-0123456789abcdef0, got ${JSON.stringify(value)}`;
}

export function checkTags(tags: Record<string, unknown>): string | undefined {
  const entries = Object.entries(tags);
  if (entries.length > 40) {
    return `tags must be at most 40 (EC2 allows 50 per resource; this construct sets up to 4 and keeps room), got ${entries.length}`;
  }
  for (const [key, value] of entries) {
    if (typeof value !== 'string') return `tags must map keys to string values, got ${show(key)}: ${show(value)}`;
    if (key.toLowerCase().startsWith('aws:')) return `tags must not use the reserved "aws:" prefix, got ${show(key)}`;
    if (key.length < 1 || key.length > 128 || value.length > 256) return `tags keys must be 1-128 and values at most 256 characters, got ${show(key)}`;
  }
  return undefined;
}

/**
 * Timing limits. CloudFormation gives a custom resource at most an hour
 * (ServiceTimeout 1-3600 s); the waiter's attempts leave out invocation time,
 * hence the 5-minute margin.
 */
export const MAX_TOTAL_TIMEOUT = Duration.minutes(55);

/** The longest wait for an image: a wait condition's limit (43,200 s). */
export const MAX_IMAGE_WAIT = Duration.hours(12);

/**
 * The image's wait: up to {@link MAX_TOTAL_TIMEOUT} the Provider framework's
 * waiter polls (`totalTimeout / queryInterval` attempts); longer, up to
 * {@link MAX_IMAGE_WAIT}, a wait condition follows the image (availability.ts).
 * @returns true for a wait condition.
 */
export function validateImageWait(totalTimeout: Duration, queryInterval: Duration): boolean {
  if (totalTimeout.toSeconds() <= MAX_TOTAL_TIMEOUT.toSeconds()) {
    validateTiming(totalTimeout, queryInterval);
    return false;
  }
  if (totalTimeout.toSeconds() > MAX_IMAGE_WAIT.toSeconds()) {
    throw new Error(`totalTimeout must be at most 12 hours (a wait condition's limit), got ${totalTimeout.toHumanString()}`);
  }
  if (queryInterval.toMilliseconds() < 1000) {
    throw new Error(`queryInterval must be at least 1 second, got ${queryInterval.toHumanString()}`);
  }
  return true;
}

const START_PHASE = Duration.minutes(45);

/**
 * The waiter's own time when a wait condition follows (waits over an hour):
 * only the start (stopping the source and CreateImage, or starting the
 * copies), 45 minutes rounded down to a whole number of `queryInterval`.
 */
export function startPhaseTimeout(queryInterval: Duration): Duration {
  const interval = queryInterval.toSeconds();
  return Duration.seconds(Math.floor(START_PHASE.toSeconds() / interval) * interval);
}

export function validateTiming(totalTimeout: Duration, queryInterval: Duration): void {
  if (queryInterval.toMilliseconds() < 1000) {
    throw new Error(`queryInterval must be at least 1 second, got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() > MAX_TOTAL_TIMEOUT.toSeconds()) {
    throw new Error(`totalTimeout must be at most 55 minutes (CloudFormation waits at most an hour for a custom resource; the margin is for the invocations), got ${totalTimeout.toHumanString()}`);
  }
  if (queryInterval.toSeconds() > totalTimeout.toSeconds()) {
    throw new Error(`queryInterval must not exceed totalTimeout (${totalTimeout.toHumanString()}), got ${queryInterval.toHumanString()}`);
  }
  if (totalTimeout.toSeconds() % queryInterval.toSeconds() !== 0) {
    throw new Error(`totalTimeout must be a whole multiple of queryInterval (${queryInterval.toHumanString()}), got ${totalTimeout.toHumanString()}`);
  }
}

/** A whole number of previous images, 0 or more. */
export function checkKeepPrevious(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_KEEP_PREVIOUS
    ? undefined
    : `keepPrevious must be a whole number of previous images from 0 to ${MAX_KEEP_PREVIOUS}, got ${show(value)}`;
}

/** Far more than any rollback needs, and a bound on the images a Delete handles in one invocation. */
export const MAX_KEEP_PREVIOUS = 50;

/**
 * Refuses bad props at synth, with the checks the app's context keys share
 * (this module). Tokens are skipped: they are known only at deploy.
 */
export function validateProps(props: InstanceImageProps & { imageName: string }): void {
  const checks: Array<string | undefined> = [
    Token.isUnresolved(props.imageName) ? undefined : checkImageName(props.imageName),
    props.instanceId === undefined || Token.isUnresolved(props.instanceId) ? undefined : checkInstanceId(props.instanceId),
    props.description === undefined || Token.isUnresolved(props.description) ? undefined : checkDescription(props.description),
    props.keepPrevious !== undefined ? checkKeepPrevious(props.keepPrevious) : undefined,
    props.tags ? checkTags(props.tags) : undefined,
  ];
  const error = checks.find((c) => c !== undefined);
  if (error) throw new Error(error);
}
