/**
 * Names shared by the ImageDistribution construct and its Lambda handlers.
 * Free of aws-cdk-lib imports: esbuild bundles it into the handlers.
 */

/** CloudFormation resource type of the distribution custom resource. */
export const DISTRIBUTION_RESOURCE_TYPE = 'Custom::ImageDistribution';

/** Environment of the copies check (runtime/copies-check.ts), besides the signal function's HANDLE_URL, OWNER and CHECK_RULE. */
export const ENV_IMAGE_NAME = 'IMAGE_NAME';
export const ENV_IMAGE_ID = 'IMAGE_ID';
export const ENV_COPY_REGIONS = 'COPY_REGIONS';

/** CloudFormation attribute listing the copies, `<region>=<image id>` separated by commas. */
export const COPIED_IMAGE_IDS_ATTRIBUTE = 'CopiedImageIds';

/**
 * Properties of the `Custom::ImageDistribution` resource, as the handlers
 * receive them (CloudFormation turns every scalar into a string). The physical
 * id is the image id: a new image is a new distribution, and CloudFormation
 * deletes the old one (its copies, unless the image is kept) in the cleanup phase.
 */
export interface DistributionResourceProperties {
  /** The image distributed. */
  readonly ImageId: string;
  /** The image's owner tag value; its copies carry it too, and only resources carrying it are changed. */
  readonly Owner: string;
  /** The image's removal policy: with `retain`, the copies stay too. */
  readonly RemovalPolicy: 'destroy' | 'retain';
  /** The image's `KeepPrevious`: the copies of the previous images it keeps stay too. */
  readonly KeepPrevious?: string;
  /** Account ids given launch permission (applied in place). */
  readonly ShareWithAccounts?: string[];
  /** Organization and OU ARNs given launch permission (applied in place). */
  readonly ShareWithOrganizationArns?: string[];
  /** Days after creation at which the image (and its copies) are deprecated (applied in place). */
  readonly DeprecateAfterDays?: string;
  /** Regions to copy the image to (copies added and removed in place). */
  readonly CopyToRegions?: string[];
  /** KMS key that encrypts the copies (a multi-Region key when there are several regions). */
  readonly CopyKmsKeyArn?: string;
  /**
   * `'true'` for the resource that only starts the copies (waits over an hour): it completes once every copy
   * exists, turns on the copies check (`CheckRuleName`), and shares nothing; the distribution proper follows the
   * copies' wait condition. Its Delete removes what the distribution's would.
   */
  readonly StartOnly?: 'true';
  /** With `StartOnly`: the name of the copies check's rule. */
  readonly CheckRuleName?: string;
  /**
   * With `StartOnly`: the hash in the copies' wait condition's logical id. A new condition (a new timeout, say)
   * changes it, so the starter gets an Update, which turns the check on: it signals the new condition.
   */
  readonly SignalId?: string;
  /**
   * With `StartOnly`: the logical id of the distribution proper. While CloudFormation records this image for it,
   * the copies and their sharing are the distribution's: the starter's Delete (waits over an hour turned off)
   * removes nothing.
   */
  readonly DistributionLogicalId?: string;
}

/**
 * CloudFormation resource type of the check that SSM accepted the image id
 * for the `aws:ec2:image` parameter (runtime/parameter.ts), served by the
 * distribution's own Provider.
 */
export const PARAMETER_CHECK_RESOURCE_TYPE = 'Custom::ImageParameterCheck';

/**
 * Environment of `isDistributionComplete`: seconds after the check's onEvent
 * within which the parameter may still show another value (SSM validates an
 * `aws:ec2:image` value asynchronously); after them, the check fails.
 */
export const ENV_PARAMETER_ACCEPT_SECONDS = 'PARAMETER_ACCEPT_SECONDS';

/** The bound without that environment variable, and its most: five minutes. */
export const DEFAULT_PARAMETER_ACCEPT_SECONDS = 300;

/** Properties of the `Custom::ImageParameterCheck` resource. The physical id is the parameter name. */
export interface ParameterCheckProperties {
  /** The parameter `ssmParameterName` names. */
  readonly ParameterName: string;
  /** The promoted image: the value the parameter must hold. */
  readonly ImageId: string;
}
