import { createHash } from 'node:crypto';
import type { Tag } from '@aws-sdk/client-ec2';
import { IMAGE_NAME_TAG, OWNER_TAG, SIGNAL_TAG } from '../../shared/names';
import { IMAGE_NAME_MAX_LENGTH, IMAGE_NAME_MIN_LENGTH, IMAGE_NAME_PATTERN, ImageResourceProperties, REPLACING_PROPERTIES } from '../shared';

/** Stable JSON: object keys sorted, so `{a,b}` and `{b,a}` hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonical).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The properties that define the image's content, and so its name and identity. */
export function contentOf(props: ImageResourceProperties): Record<string, unknown> {
  return Object.fromEntries(REPLACING_PROPERTIES.map((key) => [key, props[key]]));
}

/** True when an Update from `oldProps` to `newProps` needs a new image. */
export function needsNewImage(oldProps: ImageResourceProperties, newProps: ImageResourceProperties): boolean {
  return canonical(contentOf(oldProps)) !== canonical(contentOf(newProps));
}

/**
 * `<prefix>-<16 hex digits of sha256(content)>`.
 *
 * Deterministic, so a retried Create finds the image it already made; it
 * includes the instance id, so it is unique per account and region; and a
 * replacement has other content, so it never collides with the image
 * CloudFormation has not deleted yet.
 */
export function imageNameFor(props: ImageResourceProperties): string {
  const digest = createHash('sha256').update(canonical(contentOf(props))).digest('hex').slice(0, 16);
  const name = `${props.ImageNamePrefix}-${digest}`;
  if (name.length < IMAGE_NAME_MIN_LENGTH || name.length > IMAGE_NAME_MAX_LENGTH || !IMAGE_NAME_PATTERN.test(name)) {
    throw new Error(`ImageNamePrefix must give an AMI name of ${IMAGE_NAME_MIN_LENGTH}-${IMAGE_NAME_MAX_LENGTH} characters of [A-Za-z0-9()[] ./'@_-], got "${name}"`);
  }
  return name;
}

/** Tags of an image made for `props` and of its snapshots and copies: the user's, the name, and the owner tag the IAM conditions rely on. */
export function tagsFor(props: ImageResourceProperties, name: string): Tag[] {
  const tags: Record<string, string> = {
    Name: name,
    ...props.Tags,
    [OWNER_TAG]: props.Owner,
    [IMAGE_NAME_TAG]: name,
    ...(props.SignalId ? { [SIGNAL_TAG]: props.SignalId } : {}),
  };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
