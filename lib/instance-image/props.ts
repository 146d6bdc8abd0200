import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';

/** Settings of an {@link InstanceImage}: its props without the instance to image. */
export interface InstanceImageOptions {
  /**
   * Prefix of the AMI name. The handler appends `-` and 16 hex digits of a hash
   * of the image's content-defining properties, so a replacement never
   * collides with the image it replaces. 3-111 characters of `A-Za-z0-9()[] ./-'@_`.
   *
   * @default - derived from the construct path, unique in the account and region
   */
  readonly imageName?: string;

  /**
   * Description of the AMI.
   *
   * @default - `Made by ami-from-instance from` and the construct path
   */
  readonly description?: string;

  /**
   * Take the image without rebooting the instance. Faster, but file-system
   * integrity of the image is not guaranteed.
   *
   * @default false - the instance is rebooted for a consistent file system
   */
  readonly noReboot?: boolean;

  /**
   * Stop the instance and wait until it is `stopped` before CreateImage: a
   * consistent file system without a reboot, as Packer does. The instance
   * stays stopped (start it yourself if you need it). Changing it does not
   * make a new image. Only with `instance`: an instance given by
   * `instanceId` is not this stack's to stop, and is refused.
   *
   * @default false - the instance is imaged running (rebooted unless `noReboot`)
   */
  readonly stopInstance?: boolean;

  /**
   * What happens to the AMI and its snapshots when the resource is deleted
   * (stack deletion, or replacement by a new image). `DESTROY` deregisters the
   * AMI and deletes its snapshots; `RETAIN` keeps both, and every image a
   * replacement leaves behind.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How many previous images to keep when a deploy replaces the image, for
   * the launch templates and Auto Scaling groups that still name them and to
   * roll back to. The `keepPrevious` newest images made before the current
   * one stay, with their snapshots, copies and launch permissions; older ones
   * are deregistered with their snapshots and copies. Deleting the resource
   * removes them all (unless `removalPolicy` is `RETAIN`). Only images
   * carrying this resource's owner tag are ever touched. Changing it keeps
   * the image; the new number applies from the next replacement.
   *
   * @default 0 - a replaced image is deregistered with its snapshots
   */
  readonly keepPrevious?: number;

  /**
   * Tags for the AMI and its snapshots, applied at creation. Changing them makes a new image.
   *
   * @default - only the tags this construct sets (`Name`, `ami-from-instance:*`)
   */
  readonly tags?: Record<string, string>;

  /**
   * Device names of the instance's volumes to leave out of the image, such as
   * `/dev/sdf` or `xvdf`, as EC2 lists them on the instance: CreateImage
   * takes every EBS volume attached to it otherwise (the console's *Instance
   * volumes*, with *Delete* on a volume). Not the root device: EC2 refuses
   * that at deploy. Changing it makes a new image.
   *
   * @default - none: every volume of the instance is in the image
   */
  readonly excludeDevices?: string[];

  /**
   * Any string. Changing it makes a fresh image with nothing else changed, for
   * example to pick up a new kernel on the next deploy.
   *
   * @default - no token: the image changes only when its source or settings do
   */
  readonly rebuildToken?: string;

  /**
   * How long to wait for the image to become available: at most 55 minutes.
   * CloudFormation waits at most an hour for a custom resource (`ServiceTimeout`),
   * and the waiter's attempts (`totalTimeout / queryInterval`) leave out the
   * time of each invocation, so the margin keeps its answer inside that hour.
   *
   * @default Duration.minutes(45)
   */
  readonly totalTimeout?: Duration;

  /**
   * How often to check whether the image is available. One DescribeImages call each time.
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

/** Properties of {@link InstanceImage}. */
export interface InstanceImageProps extends InstanceImageOptions {
  /**
   * The instance to make the image from. Make the image depend on whatever
   * must be finished first (a bake's wait condition, say). Give this or
   * `instanceId`.
   *
   * @default - `instanceId`
   */
  readonly instance?: ec2.IInstance;

  /**
   * The id of an existing instance to make the image from (`i-` and 8 or 17
   * hex digits), one this stack does not manage: the console's *Create
   * image*. CreateImage is granted on that instance only; nothing stops,
   * modifies or terminates it. Give this or `instance`.
   *
   * @default - `instance`
   */
  readonly instanceId?: string;
}

/** Options of {@link InstanceImage.machineImage}. */
export interface InstanceImageMachineImageOptions {
  /**
   * Operating system of the image.
   *
   * @default ec2.OperatingSystemType.LINUX
   */
  readonly osType?: ec2.OperatingSystemType;

  /**
   * User data for instances launched from the image.
   *
   * @default - empty user data for the operating system
   */
  readonly userData?: ec2.UserData;
}
