/**
 * Plays a deployment's deploys as CloudFormation sends them to the two custom
 * resources: the update phase in dependency order, then either the cleanup
 * phase or, when a later resource fails, the rollback and its cleanup; and the
 * stack delete at the end.
 */
import { CfnResponse, CustomResource, ProviderFramework } from '../emulator/harness/cloudformation';
import { Emulator, MAX_POLLS } from '../emulator/harness/suite';
import { Configuration, Deployment, distributionPropsOf, imagePropsOf, Step } from './model';

type Props = Record<string, unknown>;
type Before = { physicalId: string; props: Props };

/** The harness's resource, in the stack this deployment names (its requests carry the deployment's StackId). */
export class StackResource extends CustomResource {
  constructor(
    private readonly framework: ProviderFramework,
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

export class Player {
  /** The image a rolled-back update made or adopted (its Delete is the rollback's cleanup), if it changed the image. */
  public abandonedImage?: string;
  public readonly image: StackResource;
  public readonly distribution: StackResource;

  constructor(private readonly emu: Emulator, public readonly deployment: Deployment) {
    this.image = new StackResource(new ProviderFramework(emu.handlers, MAX_POLLS), 'Image', 'Custom::InstanceImage', deployment.stackId, emu);
    this.distribution = new StackResource(new ProviderFramework(emu.handlers.distribution, MAX_POLLS), 'Distribution',
      'Custom::ImageDistribution', deployment.stackId, emu);
  }

  /** The first deploy. A failure here is reported, not rolled back: the sequences start from a deployed stack. */
  public async create(c: Configuration): Promise<StepOutcome> {
    const failures: string[] = [];
    this.status('CREATE_IN_PROGRESS');
    const image = await this.image.create(this.imageProps(c));
    note(failures, 'Image Create', image);
    note(failures, 'Distribution Create', await this.distribution.create(this.distributionProps(c, image.PhysicalResourceId)));
    this.status('CREATE_COMPLETE');
    return { completed: failures.length === 0, failures };
  }

  /** An update of the stack to `step.config`; a failed request rolls back as a failed later resource does. */
  public async update(step: Step): Promise<StepOutcome> {
    const failures: string[] = [];
    const before = { image: this.snapshot(this.image), distribution: this.snapshot(this.distribution) };
    this.status('UPDATE_IN_PROGRESS');
    const imageProps = this.imageProps(step.config);
    const image = await this.image.update(imageProps);
    note(failures, 'Image Update', image);
    let distributionProps: Props | undefined;
    if (image.Status === 'SUCCESS') {
      distributionProps = this.distributionProps(step.config, image.PhysicalResourceId);
      note(failures, 'Distribution Update', await this.distribution.update(distributionProps));
    }
    if (step.laterFails || failures.length > 0) {
      await this.rollBack(before, imageProps, distributionProps, failures);
      return { completed: false, failures };
    }
    this.status('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    // Dependents first, as CloudFormation deletes them; only what the update replaced.
    for (const [resource, old] of [[this.distribution, before.distribution], [this.image, before.image]] as const) {
      if (resource.physicalId !== old.physicalId) note(failures, `${resource.name} cleanup Delete`, await resource.deleteReplaced(old));
    }
    this.status('UPDATE_COMPLETE');
    return { completed: true, failures };
  }

  /** The stack delete: the distribution, then the image, each with its own properties and id. */
  public async deleteStack(): Promise<StepOutcome> {
    const failures: string[] = [];
    this.status('DELETE_IN_PROGRESS');
    note(failures, 'Distribution Delete', await this.distribution.delete());
    note(failures, 'Image Delete', await this.image.delete());
    this.status('DELETE_COMPLETE');
    return { completed: failures.length === 0, failures };
  }

  private async rollBack(before: { image: Before; distribution: Before }, imageProps: Props, distributionProps: Props | undefined, failures: string[]) {
    this.status('UPDATE_ROLLBACK_IN_PROGRESS');
    const failed = { image: this.snapshot(this.image), distribution: this.snapshot(this.distribution) };
    this.abandonedImage = failed.image.physicalId !== before.image.physicalId ? failed.image.physicalId : undefined;
    note(failures, 'Image rollback Update', await this.image.rollBack(before.image, imageProps));
    if (distributionProps) note(failures, 'Distribution rollback Update', await this.distribution.rollBack(before.distribution, distributionProps));
    this.status('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    for (const [resource, old, made] of [
      [this.distribution, before.distribution, failed.distribution],
      [this.image, before.image, failed.image],
    ] as const) {
      if (made.physicalId !== old.physicalId) note(failures, `${resource.name} rollback cleanup Delete`, await resource.deleteReplaced(made));
    }
    this.status('UPDATE_ROLLBACK_COMPLETE');
  }

  private imageProps(c: Configuration): Props {
    return { ...imagePropsOf(this.emu.baseProps, this.deployment, c) };
  }

  private distributionProps(c: Configuration, imageId: string): Props {
    return { ...distributionPropsOf(this.deployment, c, imageId) };
  }

  private snapshot(resource: StackResource): Before {
    return { physicalId: resource.physicalId!, props: resource.props! };
  }

  private status(status: string): void {
    this.emu.records.status = status;
  }
}

function note(failures: string[], what: string, response: CfnResponse | undefined): void {
  if (response && response.Status !== 'SUCCESS') failures.push(`${what} FAILED: ${response.Reason ?? 'no reason'}`);
}
