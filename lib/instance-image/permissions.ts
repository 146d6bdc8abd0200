import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { OWNER_TAG } from '../shared/names';
import { describePolicy, ec2Finding, readOwnStackResource } from '../shared/permissions';

/** What the handlers of one InstanceImage are granted. */
export interface ImagePermissionsProps {
  /** The function that starts the image (and, with `stopInstance`, stops the instance). */
  readonly onEvent: lambda.Function;
  /** The function that polls, cleans up and distributes. */
  readonly isComplete: lambda.Function;
  /** The id of the instance imaged. */
  readonly instanceId: string;
  /** The owner tag's value of this construct's images and snapshots. */
  readonly owner: string;
  /**
   * The owner tag's value before it named the deployment: DeregisterImage and
   * DeleteSnapshot only, for the one image an upgrade replaces (the handler
   * touches no other image of that value).
   */
  readonly legacyOwner: string;
  /** Whether the handlers stop the instance first (then `isComplete` makes the image). */
  readonly stopInstance: boolean;
}

/**
 * Least privilege for the handlers, each granted only what its own code calls.
 * Mutations are scoped to the instance and to images and snapshots carrying
 * this construct's owner tag, so the functions cannot touch any other AMI in
 * the account. Nothing mutating is granted on `*`: the only `*` are the
 * read-only Describe policies, kept apart so that their cdk-nag
 * acknowledgements cover nothing else.
 *
 * onEvent: DescribeImages, CreateImage (+ CreateTags within it), DeregisterImage (+ DeleteSnapshot,
 * which its DeleteAssociatedSnapshots needs), and DescribeStackResource on its
 * own stack (which images a Delete keeps); with `stopInstance` DescribeInstances
 * and StopInstances instead of CreateImage.
 * isComplete: DescribeImages, DescribeSnapshots, DeleteSnapshot, DeregisterImage and
 * ModifyImageAttribute (IMDSv2); with `stopInstance` also DescribeInstances, StopInstances and CreateImage.
 */
export function grantImagePermissions(scope: Construct, props: ImagePermissionsProps): void {
  const { onEvent, isComplete, stopInstance } = props;
  const stack = Stack.of(scope);
  // Images and snapshots of this construct, in this region (copies are the distribution's).
  const ownImageArn = stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' });
  const ownSnapshotArn = stack.formatArn({ service: 'ec2', account: '', resource: 'snapshot', resourceName: '*' });
  const ownedByThis = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: props.owner } };
  const instanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: props.instanceId });

  // EC2 has no resource-level permissions for these Describe* actions: they accept only '*'.
  const instances = stopInstance ? ['ec2:DescribeInstances'] : [];
  describePolicy(scope, 'OnEventDescribePolicy', onEvent, ['ec2:DescribeImages', ...instances]);
  describePolicy(scope, 'IsCompleteDescribePolicy', isComplete, ['ec2:DescribeImages', 'ec2:DescribeSnapshots', ...instances]);

  // The function that makes the image: onEvent, or isComplete once the instance is stopped.
  const creator = stopInstance ? isComplete : onEvent;
  grantCreateImage(creator, instanceArn, props.owner);
  if (stopInstance) {
    // StopInstances is authorized on the instance: this one only.
    for (const fn of [onEvent, isComplete]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:StopInstances'], resources: [instanceArn] }));
    }
  }

  // Removal also of the image an upgrade replaces, tagged with the owner value of before (see legacyOwner).
  const removable = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG}`]: [props.owner, props.legacyOwner] } };
  const deregisterOwned = new iam.PolicyStatement({ actions: ['ec2:DeregisterImage'], resources: [ownImageArn], conditions: removable });
  // DeregisterImage's DeleteAssociatedSnapshots deletes the snapshots as the caller, so it needs
  // ec2:DeleteSnapshot on them (else EC2 reports each as `missing-permissions` and leaves it).
  const deleteOwnedSnapshots = new iam.PolicyStatement({ actions: ['ec2:DeleteSnapshot'], resources: [ownSnapshotArn], conditions: removable });
  onEvent.addToRolePolicy(deregisterOwned);
  onEvent.addToRolePolicy(deleteOwnedSnapshots);
  onEvent.addToRolePolicy(readOwnStackResource(stack));

  // ModifyImageAttribute sets ImdsSupport (the handler sets nothing else with it).
  isComplete.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:ModifyImageAttribute'], resources: [ownImageArn], conditions: ownedByThis }));
  isComplete.addToRolePolicy(deregisterOwned);
  isComplete.addToRolePolicy(deleteOwnedSnapshots);

  // One acknowledgement per finding and policy, naming every statement behind it.
  for (const fn of [onEvent, isComplete]) {
    const creates = fn === creator;
    const policy = fn.role!.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: ec2Finding(stack, 'image'),
      reason: 'DeregisterImage' + (fn === isComplete ? ' and ModifyImageAttribute (ImdsSupport)' : '') +
        ' apply only to images carrying this construct\'s owner tag (aws:ResourceTag: this deployment\'s stack UUID; DeregisterImage also the value ' +
        'of before the UUID, for the one image an upgrade replaces), whose ids are not known at synth; for waits over an hour, ' +
        'so does CreateTags of the ami-from-instance:signal tag alone (aws:TagKeys).' +
        (creates ? ' CreateImage on image/* requires the owner tag in the request (aws:RequestTag); CreateTags only within CreateImage (ec2:CreateAction).' : ''),
    });
    Validations.of(policy).acknowledge({
      id: ec2Finding(stack, 'snapshot'),
      reason: 'DeleteSnapshot (directly, or through DeregisterImage\'s DeleteAssociatedSnapshots) applies only to snapshots carrying this construct\'s owner tag ' +
        '(aws:ResourceTag: this deployment\'s, or the value of before it named the deployment, for the image an upgrade replaces), whose ids are not known at synth.' +
        (creates ? ' CreateImage on snapshot/* requires the owner tag in the request (aws:RequestTag); CreateTags only within CreateImage (ec2:CreateAction).' : ''),
    });
  }
}

/**
 * CreateImage is authorized on the instance and on the image and snapshots it
 * creates. The instance ARN pins the source; the image and snapshots must be
 * requested with this construct's owner tag (aws:RequestTag is a condition key
 * of CreateImage's image and snapshot resources), so the function can make
 * only images it can later find and delete. Tags only as part of CreateImage:
 * never on an existing resource, so the owner tag that the conditions rely on
 * cannot be forged on someone else's AMI.
 */
function grantCreateImage(fn: lambda.Function, instanceArn: string, owner: string): void {
  const stack = Stack.of(fn);
  const created = ['image', 'snapshot'].map((resource) => stack.formatArn({ service: 'ec2', account: '', resource, resourceName: '*' }));
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:CreateImage'], resources: [instanceArn] }));
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CreateImage'],
    resources: created,
    conditions: { StringEquals: { [`aws:RequestTag/${OWNER_TAG}`]: owner } },
  }));
  fn.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:CreateTags'],
    resources: created,
    conditions: { StringEquals: { 'ec2:CreateAction': 'CreateImage' } },
  }));
}
