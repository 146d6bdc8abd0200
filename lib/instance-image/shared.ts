/**
 * Names shared by the InstanceImage construct and its Lambda handlers.
 *
 * Both sides import this module, so a renamed property, tag or environment
 * key is a compile error rather than a handler that silently reads `undefined`.
 * It must stay free of aws-cdk-lib imports: esbuild bundles it into the handlers.
 */

/** CloudFormation resource type of the image custom resource. */
export const RESOURCE_TYPE = 'Custom::InstanceImage';

/** Environment of the signal function (runtime/signal.ts), besides the shared HANDLE_URL, OWNER and CHECK_RULE (lib/shared/names.ts). */
export const ENV_SIGNAL_ID = 'SIGNAL_ID';

/** Environment variable: seconds during which a just-created image may be invisible to DescribeImages. */
export const ENV_NOT_FOUND_GRACE_SECONDS = 'NOT_FOUND_GRACE_SECONDS';

/** Removal policies the handler understands. */
export type ImageRemovalPolicy = 'destroy' | 'retain';

/**
 * Properties of the `Custom::InstanceImage` resource, as the handler receives them.
 * CloudFormation turns every scalar into a string, hence `'true' | 'false'`.
 */
export interface ImageResourceProperties {
  /** Id of the instance to image. */
  readonly InstanceId: string;
  /** Prefix of the AMI name; the handler appends a hash of the image's content-defining properties. */
  readonly ImageNamePrefix: string;
  /** AMI description. */
  readonly Description: string;
  /** `'true'` to image without rebooting the instance. */
  readonly NoReboot: 'true' | 'false';
  /** Owner id written to the {@link OWNER_TAG} tag. */
  readonly Owner: string;
  /** What happens to the image and its snapshots on Delete. */
  readonly RemovalPolicy: ImageRemovalPolicy;
  /** User tags for the image and its snapshots. */
  readonly Tags?: Record<string, string>;
  /** Any string; changing it makes a fresh image with nothing else changed. */
  readonly RebuildToken?: string;
  /**
   * How many previous images of this resource a replacement keeps (a whole
   * number, 0 or more); older ones go with their snapshots. Not content-defining.
   */
  readonly KeepPrevious?: string;
  /**
   * Set when a wait condition follows the image (waits over an hour): the id
   * written to the {@link SIGNAL_TAG} tag at CreateImage. The resource then
   * completes once the image exists (`pending`); the signal function reports
   * `available` or `failed` to the wait condition. Not content-defining (it
   * changes exactly when the content does).
   */
  readonly SignalId?: string;
  /** With `SignalId`: the name of the EventBridge rule of the scheduled check, enabled when an image is started. */
  readonly CheckRuleName?: string;
  /** `'true'`: stop the instance and wait until it is `stopped` before CreateImage; it stays stopped. Not content-defining. */
  readonly StopInstance?: 'true' | 'false';
  /**
   * Device names of the instance's volumes CreateImage leaves out of the image
   * (a `{ DeviceName, NoDevice: '' }` block device mapping each), sorted, no
   * duplicates; absent when none. Content-defining.
   */
  readonly ExcludeDevices?: string[];
  /**
   * Which attributes the handler answers with, {@link ATTRIBUTES_VERSION}.
   * CloudFormation keeps a custom resource's attributes from its last answer,
   * so a template that reads a new attribute of a resource made by an older
   * version would fail; a new value sends that resource an Update, in place
   * (the same image), whose answer carries it. Not content-defining.
   */
  readonly AttributesVersion?: string;
}

/** 2: `RootDeviceName` (the image's root device, which the target's block device mapping names) joined `ImageId`, `ImageName`, `SnapshotIds`. */
export const ATTRIBUTES_VERSION = '2';

/**
 * Properties whose change means a different image: an Update that changes one
 * of them creates a new AMI (new physical id) and CloudFormation deletes the old one.
 * The others (`RemovalPolicy`, `KeepPrevious`, `StopInstance`, `AttributesVersion`) apply to the existing image.
 */
export const REPLACING_PROPERTIES: ReadonlyArray<keyof ImageResourceProperties> = [
  'InstanceId',
  'ImageNamePrefix',
  'Description',
  'NoReboot',
  'Owner',
  'Tags',
  'RebuildToken',
  'ExcludeDevices',
];

/** Length of the content hash appended to the name prefix, plus its `-` separator. */
export const NAME_SUFFIX_LENGTH = 17;

/** EC2's limits on AMI names. */
export const IMAGE_NAME_MIN_LENGTH = 3;
export const IMAGE_NAME_MAX_LENGTH = 128;
export const IMAGE_NAME_PATTERN = /^[A-Za-z0-9()[\] ./\-'@_]+$/;

/** Longest prefix that still leaves room for the content hash. */
export const IMAGE_NAME_PREFIX_MAX_LENGTH = IMAGE_NAME_MAX_LENGTH - NAME_SUFFIX_LENGTH;

/**
 * Snapshot ids are returned as an attribute only while they keep the response
 * well under CloudFormation's 4 KB cap (an AMI can have dozens of volumes).
 */
export const MAX_SNAPSHOT_IDS_ATTRIBUTE_LENGTH = 1024;
