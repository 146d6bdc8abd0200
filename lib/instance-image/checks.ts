import { Token } from 'aws-cdk-lib';
import type { InstanceImageProps } from './props';
import { IMAGE_NAME_MIN_LENGTH, IMAGE_NAME_PATTERN, IMAGE_NAME_PREFIX_MAX_LENGTH } from './shared';

/**
 * Checks shared by the construct's props and the app's context keys, which
 * have the same names: each returns the message for a bad value, naming the
 * option and showing the value, or `undefined` when the value is good.
 * Callers skip unresolved tokens.
 */

const show = (value: unknown) => JSON.stringify(value);

/** The AMI name prefix (`imageName`): EC2's characters, and room for the content hash. */
export function checkImageName(value: string): string | undefined {
  if (value.length < IMAGE_NAME_MIN_LENGTH || value.length > IMAGE_NAME_PREFIX_MAX_LENGTH || !IMAGE_NAME_PATTERN.test(value)) {
    return `imageName must be ${IMAGE_NAME_MIN_LENGTH}-${IMAGE_NAME_PREFIX_MAX_LENGTH} characters of [A-Za-z0-9()[] ./'@_-] ` +
      `(EC2 allows 128 for the whole name; the last 17 are the content hash), got ${show(value)}`;
  }
  return undefined;
}

/** The AMI description, for `option`: at most 255 characters. */
export function checkDescription(value: string, option = 'description'): string | undefined {
  return value.length > 255 ? `${option} must be at most 255 characters (EC2's limit), got ${value.length}` : undefined;
}

/** An instance id: `i-` and 8 or 17 hex digits. */
export function checkInstanceId(value: string, option = 'instanceId'): string | undefined {
  return /^i-([0-9a-f]{8}|[0-9a-f]{17})$/.test(value) ? undefined : `${option} must be i- and 8 or 17 hex digits, such as i-0123456789abcdef0, got ${JSON.stringify(value)}`;
}

/** User tags for the image and its snapshots: at most 40, string values, no `aws:` prefix, and EC2's key and value lengths. */
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

/** A whole number of previous images, 0 or more. */
export function checkKeepPrevious(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_KEEP_PREVIOUS
    ? undefined
    : `keepPrevious must be a whole number of previous images from 0 to ${MAX_KEEP_PREVIOUS}, got ${show(value)}`;
}

/**
 * A device name as EC2 lists an instance's volumes: `/dev/sdf`, `/dev/xvdf`,
 * `xvdf` (Windows), with a partition number for a root such as `/dev/sda1`.
 * Whether the instance has it, and whether it is the root (which an image
 * cannot leave out), is known only at deploy.
 */
const DEVICE_NAME = /^(\/dev\/)?(sd|xvd|hd)[a-z]{1,2}[0-9]{0,2}$/;

/** Devices CreateImage leaves out of the image (`excludeDevices`): device names such as `/dev/sdf` or `xvdf`. */
export function checkExcludeDevices(devices: readonly string[]): string | undefined {
  const bad = devices.find((d) => !DEVICE_NAME.test(d));
  return bad === undefined ? undefined : `excludeDevices must be device names such as /dev/sdf or xvdf, got ${show(bad)}`;
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
    props.excludeDevices ? checkExcludeDevices(props.excludeDevices.filter((d) => !Token.isUnresolved(d))) : undefined,
    // The stack never stops an instance it did not make: stopInstance is for an `instance` of the same app.
    props.stopInstance === true && props.instanceId !== undefined
      ? `stopInstance must not be set with instanceId: the instance is not this stack's to stop (image it running, or with a reboot), got instanceId ${JSON.stringify(props.instanceId)}`
      : undefined,
  ];
  const error = checks.find((c) => c !== undefined);
  if (error) throw new Error(error);
}
