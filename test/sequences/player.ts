/**
 * Plays a deployment's deploys as CloudFormation sends them to the custom
 * resources (the image, the copies' starter of waits over an hour, the
 * distribution) and their wait conditions (waits.ts): the update phase in
 * dependency order, then either the cleanup
 * phase or, when a later resource fails, the rollback and its cleanup; and the
 * stack delete at the end.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CfnResponse, CustomResource, ProviderFramework } from '../emulator/harness/cloudformation';
import type { HandlerPair } from '../emulator/harness/handlers';
import { Emulator, MAX_POLLS } from '../emulator/harness/suite';
import { CLOUDFORMATION_SECONDS, SECONDS_PER_POLL, withSimulatedPolls } from './clock';
import {
  Configuration,
  copiesStarterPropsOf,
  copiesWaitOf,
  Deployment,
  distributionPropsOf,
  imagePropsOf,
  imageWaitOf,
  longWait,
  ownerOf,
  Step,
} from './model';
import { WaitConditions } from './waits';

type Props = Record<string, unknown>;
type Before = { physicalId: string; props: Props };

/** The harness's resource, in the stack this deployment names (its requests carry the deployment's StackId). */
export class StackResource extends CustomResource {
  constructor(
    public readonly framework: ProviderFramework,
    public readonly name: string,
    resourceType: string,
    private readonly deploymentStackId: string,
    private readonly emu: Emulator,
  ) {
    super(framework, name, emu.records, resourceType);
  }

  public override request(type: 'Create' | 'Update' | 'Delete', props: Props, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...super.request(type, props, extra), StackId: this.deploymentStackId };
  }

  /** Back to `before` after a failed deploy: an Update back for the same physical id, else the old id recorded again. */
  public async rollBack(before: Before, failedProps: Props): Promise<CfnResponse | undefined> {
    if (before.physicalId !== this.physicalId) {
      this.physicalId = before.physicalId;
      this.props = before.props;
      this.emu.records.set(this.name, before.physicalId);
      return undefined;
    }
    this.props = before.props;
    return this.framework.send(this.request('Update', before.props, { PhysicalResourceId: before.physicalId, OldResourceProperties: failedProps }));
  }

  public deleteReplaced(replaced: Before): Promise<CfnResponse> {
    return this.framework.send(this.request('Delete', replaced.props, { PhysicalResourceId: replaced.physicalId }));
  }
}

/** What one step did: whether it completed or rolled back, and the requests that failed. */
export interface StepOutcome {
  readonly completed: boolean;
  readonly failures: string[];
}

/** EC2's reason for the images a step with `imageFails` makes: the failures it causes are the step's, not violations. */
export const INJECTED_FAILURE = 'Snapshot of volume vol-0abc failed';
/** The handlers' answer to a poll past their deadline, a step with `slowImage`'s failure (lib/shared/runtime/deadline.ts). */
export const DEADLINE_FAILURE = 'minutes after the request: CloudFormation waits at most an hour';
/** The reason the test's wait condition gets in a step with `testFails`: the step's failure, not a violation. */
export const TEST_FAILURE = 'the AMI test failed: curl http://localhost/ exited 7';

type Snapshot = { image: Before; starter?: Before; distribution: Before };

export class Player {
  /** The image a rolled-back update made or adopted (its Delete is the rollback's cleanup), if it changed the image. */
  public abandonedImage?: string;
  public readonly image: StackResource;
  /** The copies' starter (`CopiesStarted`): in the template only while the copies are waited for over an hour. */
  public readonly starter: StackResource;
  public readonly distribution: StackResource;
  /** The source instance, launched by the first deploy. */
  public sourceInstanceId?: string;
  private readonly waits: WaitConditions;
  /** The configuration deployed last: a wait condition whose hash it already had is complete. */
  private deployed?: Configuration;
  /** Images this deployment has had: a later deploy that names one adopts it, and EC2 sends no event for it. */
  private readonly seen = new Set<string>();
  /** The images whose AMI test passed (on a target launched from them), with their names: all that may be promoted. */
  public readonly tested = new Map<string, string>();

  constructor(private readonly emu: Emulator, public readonly deployment: Deployment) {
    const stackResource = (handlers: HandlerPair, name: string, type: string) =>
      new StackResource(new ProviderFramework(handlers, MAX_POLLS), name, type, deployment.stackId, emu);
    this.image = stackResource(emu.handlers, 'Image', 'Custom::InstanceImage');
    this.starter = stackResource(emu.handlers.distribution, 'CopiesStarted', 'Custom::ImageDistribution');
    this.distribution = stackResource(emu.handlers.distribution, 'Distribution', 'Custom::ImageDistribution');
    this.waits = new WaitConditions(emu, ownerOf(deployment));
  }

  /** The first deploy. A failure here is reported, not rolled back: the sequences start from a deployed stack. */
  public async create(c: Configuration): Promise<StepOutcome> {
    const failures: string[] = [];
    // A source instance of its own, so that whether it is stopped is this deployment's doing.
    const { Reservations } = await this.emu.direct.send(new DescribeInstancesCommand({ InstanceIds: [this.emu.baseProps.InstanceId] }));
    const { Instances } = await this.emu.direct.send(new RunInstancesCommand({
      ImageId: Reservations![0].Instances![0].ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro',
    }));
    this.sourceInstanceId = Instances![0].InstanceId!;
    this.status('CREATE_IN_PROGRESS');
    const image = await this.image.create(this.imageProps(c));
    note(failures, 'Image Create', image);
    if (image.Status === 'SUCCESS') {
      await this.followImage(c, image.PhysicalResourceId, failures);
      if (failures.length === 0) await this.passTest(image.PhysicalResourceId);
      const starterProps = copiesStarterPropsOf(this.deployment, c, image.PhysicalResourceId);
      if (starterProps) {
        note(failures, 'CopiesStarted Create', await this.starter.create({ ...starterProps }));
        await this.followCopies(c, image.PhysicalResourceId, failures);
      }
      note(failures, 'Distribution Create', await this.distribution.create(this.distributionProps(c, image.PhysicalResourceId)));
    }
    this.status('CREATE_COMPLETE');
    this.deployed = c;
    await this.settle();
    return { completed: failures.length === 0, failures };
  }

  /**
   * An update of the stack to `step.config`, in dependency order: the image (and its wait condition), the copies'
   * starter (and theirs), the distribution. A failed request or wait condition rolls back as a failed later
   * resource does. The cleanup deletes what was replaced, and the starter when the template no longer has it.
   */
  public async update(step: Step): Promise<StepOutcome> {
    const failures: string[] = [];
    const c = step.config;
    const before: Snapshot = { image: this.snapshot(this.image), starter: this.starterSnapshot(), distribution: this.snapshot(this.distribution) };
    this.status('UPDATE_IN_PROGRESS');
    this.emu.bridge.failWith = step.imageFails ? { code: 'Client.InternalError', message: INJECTED_FAILURE } : undefined;
    // An image pending past CloudFormation's hour matters to the waiter only: waits over an hour are wait conditions.
    const slow = step.slowImage === true && !longWait(c);
    this.emu.bridge.pendingDescribes = slow ? 100_000 : 0;
    const imageProps = this.imageProps(c);
    const image = slow ? await withSimulatedPolls(this.image.framework, () => this.image.update(imageProps)) : await this.image.update(imageProps);
    this.emu.bridge.failWith = undefined;
    this.emu.bridge.pendingDescribes = 0;
    note(failures, 'Image Update', image);
    if (slow && image.polls * SECONDS_PER_POLL > CLOUDFORMATION_SECONDS) {
      failures.push(`Image Update outlived CloudFormation's hour: its waiter answered after ${image.polls} polls, ${Math.round(image.polls * SECONDS_PER_POLL / 60)} minutes`);
    }
    let distributionProps: Props | undefined;
    let starterProps: Props | undefined;
    if (image.Status === 'SUCCESS') {
      const imageId = image.PhysicalResourceId;
      await this.followImage(c, imageId, failures);
      // A new image id replaces the target, which runs the test again; the promotion (the copies' starter and the
      // distribution) waits for its wait condition.
      if (failures.length === 0 && imageId !== before.image.physicalId) {
        if (step.testFails) failures.push(`Test wait condition FAILED: ${TEST_FAILURE}`);
        else await this.passTest(imageId);
      }
      const wanted = copiesStarterPropsOf(this.deployment, c, imageId);
      if (wanted && failures.length === 0) {
        starterProps = { ...wanted };
        // CloudFormation sends no Update for properties that did not change.
        const unchanged = before.starter && JSON.stringify(before.starter.props) === JSON.stringify(starterProps);
        const started = unchanged ? undefined : before.starter ? await this.starter.update(starterProps) : await this.starter.create(starterProps);
        note(failures, `CopiesStarted ${before.starter ? 'Update' : 'Create'}`, started);
        if (!started || started.Status === 'SUCCESS') await this.followCopies(c, imageId, failures);
      }
      if (failures.length === 0) {
        distributionProps = this.distributionProps(c, imageId);
        note(failures, 'Distribution Update', await this.distribution.update(distributionProps));
      }
    }
    if (step.laterFails || failures.length > 0) {
      await this.rollBack(before, { image: imageProps, starter: starterProps, distribution: distributionProps }, failures);
      await this.settle();
      return { completed: false, failures };
    }
    this.status('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    // Dependents first, as CloudFormation deletes them; only what the update replaced or removed.
    if (this.distribution.physicalId !== before.distribution.physicalId) {
      note(failures, 'Distribution cleanup Delete', await this.distribution.deleteReplaced(before.distribution));
    }
    if (before.starter && !starterProps) {
      note(failures, 'CopiesStarted Delete (removed from the template)', await this.starter.deleteReplaced(before.starter));
      this.dropStarter();
    } else if (before.starter && this.starter.physicalId !== before.starter.physicalId) {
      note(failures, 'CopiesStarted cleanup Delete', await this.starter.deleteReplaced(before.starter));
    }
    if (this.image.physicalId !== before.image.physicalId) note(failures, 'Image cleanup Delete', await this.image.deleteReplaced(before.image));
    this.status('UPDATE_COMPLETE');
    this.deployed = c;
    await this.settle();
    return { completed: true, failures };
  }

  /** The stack delete: the distribution, the starter, then the image, each with its own properties and id. */
  public async deleteStack(): Promise<StepOutcome> {
    const failures: string[] = [];
    this.status('DELETE_IN_PROGRESS');
    note(failures, 'Distribution Delete', await this.distribution.delete());
    if (this.starter.physicalId) note(failures, 'CopiesStarted Delete', await this.starter.delete());
    note(failures, 'Image Delete', await this.image.delete());
    this.status('DELETE_COMPLETE');
    return { completed: failures.length === 0, failures };
  }

  /** Between deploys: the deployed template's scheduled checks run until they turn themselves off. */
  private async settle(): Promise<void> {
    const c = this.deployed!;
    const copies = copiesWaitOf(this.deployment, c);
    await this.waits.settle(imageWaitOf(this.deployment, c), copies && { wait: copies, imageId: this.image.physicalId!, regions: c.copyToRegions });
  }

  /** A new image wait condition (a hash the last deploy did not have) must get SUCCESS for the image. */
  private async followImage(c: Configuration, imageId: string, failures: string[]): Promise<void> {
    const wait = imageWaitOf(this.deployment, c);
    const madeNow = !this.seen.has(imageId);
    this.seen.add(imageId);
    if (!wait || (this.deployed && imageWaitOf(this.deployment, this.deployed)?.signalId === wait.signalId)) return;
    const failure = await this.waits.image(wait, imageId, madeNow);
    if (failure) failures.push(failure);
  }

  private async passTest(imageId: string): Promise<void> {
    const { Images } = await this.emu.direct.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    this.tested.set(imageId, Images![0].Name!);
  }

  /** A new copies wait condition must get SUCCESS once every copy is available. */
  private async followCopies(c: Configuration, imageId: string, failures: string[]): Promise<void> {
    const wait = copiesWaitOf(this.deployment, c)!;
    if (this.deployed && copiesWaitOf(this.deployment, this.deployed)?.signalId === wait.signalId) return;
    const failure = await this.waits.copies(wait, imageId, c.copyToRegions);
    if (failure) failures.push(failure);
  }

  private async rollBack(before: Snapshot, failedProps: { image: Props; starter?: Props; distribution?: Props }, failures: string[]) {
    this.status('UPDATE_ROLLBACK_IN_PROGRESS');
    const failed: Snapshot = { image: this.snapshot(this.image), starter: this.starterSnapshot(), distribution: this.snapshot(this.distribution) };
    this.abandonedImage = failed.image.physicalId !== before.image.physicalId ? failed.image.physicalId : undefined;
    note(failures, 'Image rollback Update', await this.image.rollBack(before.image, failedProps.image));
    if (failed.starter && !before.starter) {
      // Created by the failed update: the rollback deletes it.
      note(failures, 'CopiesStarted rollback Delete', await this.starter.deleteReplaced(failed.starter));
      this.dropStarter();
    } else if (before.starter && failedProps.starter && JSON.stringify(before.starter.props) !== JSON.stringify(failedProps.starter)) {
      note(failures, 'CopiesStarted rollback Update', await this.starter.rollBack(before.starter, failedProps.starter));
    }
    if (failedProps.distribution) note(failures, 'Distribution rollback Update', await this.distribution.rollBack(before.distribution, failedProps.distribution));
    this.status('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    const pairs: Array<[StackResource, Before | undefined, Before | undefined]> = [
      [this.distribution, before.distribution, failed.distribution],
      [this.starter, before.starter, before.starter && failed.starter],
      [this.image, before.image, failed.image],
    ];
    for (const [resource, old, made] of pairs) {
      if (old && made && made.physicalId !== old.physicalId) note(failures, `${resource.name} rollback cleanup Delete`, await resource.deleteReplaced(made));
    }
    this.status('UPDATE_ROLLBACK_COMPLETE');
  }

  private imageProps(c: Configuration): Props {
    return { ...imagePropsOf(this.emu.baseProps, this.deployment, c), InstanceId: this.sourceInstanceId };
  }

  private distributionProps(c: Configuration, imageId: string): Props {
    return { ...distributionPropsOf(this.deployment, c, imageId) };
  }

  private snapshot(resource: StackResource): Before {
    return { physicalId: resource.physicalId!, props: resource.props! };
  }

  private starterSnapshot(): Before | undefined {
    return this.starter.physicalId ? this.snapshot(this.starter) : undefined;
  }

  /** The starter is gone from the stack: CloudFormation no longer records it. */
  private dropStarter(): void {
    this.starter.physicalId = undefined;
    this.starter.props = undefined;
    this.emu.records.remove('CopiesStarted');
  }

  private status(status: string): void {
    this.emu.records.status = status;
  }
}

function note(failures: string[], what: string, response: CfnResponse | undefined): void {
  if (response && response.Status !== 'SUCCESS') failures.push(`${what} FAILED: ${response.Reason ?? 'no reason'}`);
}
