/**
 * Names shared by the constructs and their Lambda handlers: the tags every
 * image and copy carries, and the environment of the functions that signal a
 * wait condition (the image's and the copies'). Both sides import this module,
 * so a renamed tag or key is a compile error. Free of aws-cdk-lib imports:
 * esbuild bundles it into the handlers.
 */

/**
 * Tag that marks an image and its snapshots as made by one InstanceImage.
 * Its value is the owner id (`<stack name>/<construct path>`); the handlers'
 * IAM policy only lets them deregister, modify or delete resources carrying it.
 */
export const OWNER_TAG = 'ami-from-instance:owner';

/**
 * Tag carrying the image name, set on the image and its snapshots at creation.
 * The name is unique per account and region, so it finds the snapshots of an
 * image even while the image is still `pending` and does not list them yet.
 */
export const IMAGE_NAME_TAG = 'ami-from-instance:image-name';

/**
 * Tag on an image whose availability a wait condition follows (waits over an
 * hour): the id of that wait condition's handle, so the signal function
 * signals only for the image of the handle it knows.
 */
export const SIGNAL_TAG = 'ami-from-instance:signal';

/** Environment of the functions that signal a wait condition: the handle's pre-signed URL. */
export const ENV_HANDLE_URL = 'HANDLE_URL';

/** Environment of those functions: the owner tag value of the images they report on. */
export const ENV_OWNER = 'OWNER';

/** Environment of those functions: the name of their scheduled check's rule, which they may disable. */
export const ENV_CHECK_RULE = 'CHECK_RULE';
