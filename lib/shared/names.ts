/**
 * Names shared by the constructs and their Lambda handlers: the tags every
 * image and copy carries, and the environment of the functions that signal a
 * wait condition (the image's and the copies'). Both sides import this module,
 * so a renamed tag or key is a compile error. Free of aws-cdk-lib imports:
 * esbuild bundles it into the handlers.
 */

/**
 * Tag that marks an image and its snapshots as made by one InstanceImage of
 * one deployment. Its value is the owner id,
 * `<stack name>/<construct path>@<stack UUID>`: the UUID is the last part of
 * `AWS::StackId`, which CloudFormation gives one stack when it creates it, so
 * the same app deployed in another region or account, or this stack deleted
 * and created again, has another owner. The handlers' IAM policy only lets
 * them deregister, modify or delete resources carrying it.
 */
export const OWNER_TAG = 'ami-from-instance:owner';

/** An owner id of the current form: `@` and a stack UUID at its end. */
const DEPLOYMENT_OWNER = /@[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for an owner id written before it named the deployment
 * (`<stack name>/<construct path>` only, up to version 0.1): another
 * deployment of the same app in the same region writes the same value, so the
 * handlers touch only the one image (and its copies) CloudFormation records
 * for such a resource, never every image carrying the value (README, "Upgrading").
 */
export function isLegacyOwner(owner: string): boolean {
  return !DEPLOYMENT_OWNER.test(owner);
}

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

/**
 * Tag on an image: every region the distribution ever copied it to (sorted,
 * comma-separated), written before its first copy there. A Delete sweeps these
 * regions too, so that a copy outlives neither its image nor the stack when the
 * properties that made it are gone: a rollback goes back to the properties of
 * before without an Update to the distribution it replaced (its Delete knows
 * only the failed properties), and the last properties may name no region.
 */
export const COPY_REGIONS_TAG = 'ami-from-instance:copy-regions';

/** Environment of the functions that signal a wait condition: the handle's pre-signed URL. */
export const ENV_HANDLE_URL = 'HANDLE_URL';

/** Environment of those functions: the owner tag value of the images they report on. */
export const ENV_OWNER = 'OWNER';

/** Environment of those functions: the name of their scheduled check's rule, which they may disable. */
export const ENV_CHECK_RULE = 'CHECK_RULE';
