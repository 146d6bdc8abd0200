import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IDependable } from 'constructs';
import type { InstanceImage } from '../instance-image/instance-image';

/** What {@link ImageDistribution} does with the image: its props without the image, the gates and the key. */
export interface ImageDistributionOptions {
  /**
   * AWS accounts given launch permission on the image (and its copies).
   * Applied in place: changing it keeps the image.
   *
   * @default - not shared
   */
  readonly shareWithAccounts?: string[];

  /**
   * Organization and OU ARNs given launch permission on the image (and its
   * copies). Applied in place. The image is never made public.
   *
   * @default - not shared
   */
  readonly shareWithOrganizationArns?: string[];

  /**
   * Regions to copy the image to with CopyImage. The copies have the image's
   * name and tags, go with the image (a previous image kept by
   * `keepPrevious` keeps its copies), and are listed in `copiedImageIds`.
   * Regions added later are copied to in place; a region removed loses every
   * copy of this image's resource.
   *
   * @default - no copies
   */
  readonly copyToRegions?: string[];

  /**
   * KMS key ARN that encrypts the copies. With several regions it must be a
   * multi-Region key (`mrk-…`) replicated to each of them. A copy keeps the key
   * it was made with: change it together with the image's `rebuildToken`.
   *
   * @default - each copy region's default EBS key (CopyImage without KmsKeyId)
   */
  readonly copyKmsKeyArn?: string;

  /**
   * States that each copy region's default EBS encryption key is customer
   * managed (and shared with the accounts the image is shared with), so that
   * copies made without `copyKmsKeyArn` can be shared. Without it, sharing
   * together with `copyToRegions` needs `copyKmsKeyArn`: copies encrypted
   * with the AWS managed key `aws/ebs` cannot be shared.
   *
   * @default false
   */
  readonly copyRegionsDefaultKeyIsCustomerManaged?: boolean;

  /**
   * Deprecate the image (and its copies) this many days after its creation
   * (EnableImageDeprecation). Applied in place.
   *
   * @default - never deprecated
   */
  readonly deprecateAfterDays?: number;

  /**
   * Publish the image id to this SSM parameter (data type `aws:ec2:image`),
   * for launch templates and pipelines to resolve. It always names the newest
   * promoted image; its parameter history lists the earlier ones.
   *
   * @default - no parameter
   */
  readonly ssmParameterName?: string;

  /**
   * How long to wait for the copies to become available: at most 55 minutes
   * (a custom resource gets at most an hour).
   *
   * @default Duration.minutes(45)
   */
  readonly totalTimeout?: Duration;

  /**
   * How often to check the copies. One DescribeImages per copy region each time.
   *
   * @default Duration.seconds(30)
   */
  readonly queryInterval?: Duration;

  /**
   * How long the handlers' logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of {@link ImageDistribution}. */
export interface ImageDistributionProps extends ImageDistributionOptions {
  /** The image to promote. */
  readonly image: InstanceImage;

  /**
   * What must succeed before the image is promoted: the AMI test's wait
   * condition, say. The distribution's resource, and so every share, copy,
   * deprecation and the SSM parameter, depends on each.
   *
   * @default - only the image itself: promoted as soon as it is available
   */
  readonly promoteAfter?: IDependable[];

  /**
   * The KMS key that encrypts the instance's volumes, and so the image's
   * snapshots. Needed to share the image (`shareWithAccounts`,
   * `shareWithOrganizationArns`): snapshots encrypted with the AWS managed key
   * `aws/ebs` cannot be shared with other accounts. With `copyToRegions`, the
   * handler may use it (only through EC2 in this region) to read the snapshots
   * it copies. Its key policy must let the accounts the image is shared with
   * use it (see the README).
   *
   * @default - the volumes' key is not known: the image cannot be shared
   */
  readonly volumeKey?: kms.IKey;

}
