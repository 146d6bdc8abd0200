import { DescribeImageAttributeCommand } from '@aws-sdk/client-ec2';
import { describeImage, ec2, ec2In, ownedImages } from '../../shared/runtime/ec2';
import { log } from '../../shared/runtime/log';
import { DistributionResourceProperties } from '../shared';
import { applyLaunchPermissions, copyRegionsOf, desiredPermissions } from './copies';

type Props = DistributionResourceProperties;

/**
 * Sharing is the stack's, not one image's: the images `keepPrevious` keeps,
 * and their copies in every copy region, get exactly the launch permissions
 * of the current properties too. An account or organization removed from
 * `shareWithAccounts`/`shareWithOrganizationArns` can no longer launch any
 * image of this stack (a launch template naming a kept image included), and
 * one added can launch the kept images it may need to roll back to.
 * Only images carrying the owner tag are listed, in the home region and the
 * copy regions (the others hold nothing of this resource: a dropped region is
 * swept). Makes no call when sharing is neither wanted nor was before.
 *
 * Called by an Update of the same image (its rollback is an Update back,
 * which puts the kept images' sharing back too). An Update to a new image
 * leaves the kept images alone: its rollback re-points to the old
 * distribution without a request; the cleanup after it succeeded makes them
 * follow the new image ({@link shareKeptLikeCurrent}).
 *
 * @param current the name of the image (and its copies) just shared, left out here.
 */
export async function shareKeptImagesAlike(current: string, props: Props, previous: Props | undefined): Promise<void> {
  if (desiredPermissions(props).length === 0 && (!previous || desiredPermissions(previous).length === 0)) return;
  for (const [region, client] of [['home', ec2] as const, ...copyRegionsOf(props).map((r) => [r, ec2In(r)] as const)]) {
    for (const image of await ownedImages(props.Owner, client)) {
      if (image.Name === current || image.State !== 'available') continue;
      log.info('launch permissions of a kept image follow the current ones', { region, imageId: image.ImageId, imageName: image.Name });
      // The previous properties as "before": with neither wanted now nor before, nothing is called.
      await applyLaunchPermissions(image, props, previous ?? props, client);
    }
  }
}

/**
 * The cleanup after an update that replaced the image: the images kept, and
 * their copies, get the launch permissions the current image has now (its
 * distribution applied the new properties; this Delete carries the old ones).
 */
export async function shareKeptLikeCurrent(currentImageId: string, props: Props): Promise<void> {
  const current = await describeImage(currentImageId);
  if (!current?.Name) return;
  const { LaunchPermissions = [] } = await ec2.send(new DescribeImageAttributeCommand({ ImageId: currentImageId, Attribute: 'launchPermission' }));
  const accounts = LaunchPermissions.flatMap((p) => (p.UserId ? [p.UserId] : []));
  const organizations = LaunchPermissions.flatMap((p) => (p.OrganizationArn ? [p.OrganizationArn] : p.OrganizationalUnitArn ? [p.OrganizationalUnitArn] : []));
  // An empty list shares with nobody, as no list does.
  const now: Props = { ...props, ShareWithAccounts: accounts, ShareWithOrganizationArns: organizations };
  await shareKeptImagesAlike(current.Name, now, props);
}
