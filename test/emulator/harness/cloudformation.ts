import type { HandlerPair } from './handlers';
import type { StackRecords } from './stack-records';

/** The emulated stack's id: its last part is the UUID CloudFormation gives a stack when it creates it, which the owner id ends with. */
export const EMULATOR_STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/AmiFromInstanceStack/51af3dc0-da77-11e4-872e-1234567db123';

/**
 * A synthesized property value as CloudFormation resolves it in the emulated
 * stack: the owner id's `Fn::Join` of the path and `Fn::Select(2, Fn::Split('/', AWS::StackId))`.
 * Any other intrinsic is an error: the harness would not know its value.
 */
export function resolveIntrinsics(value: unknown, stackId = EMULATOR_STACK_ID): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, stackId));
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o && o.Ref === 'AWS::StackId') return stackId;
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, stackId)).join(sep);
  }
  if ('Fn::Split' in o) {
    const [sep, source] = o['Fn::Split'] as [string, unknown];
    return String(resolveIntrinsics(source, stackId)).split(sep);
  }
  if ('Fn::Select' in o) {
    const [index, list] = o['Fn::Select'] as [number, unknown];
    return (resolveIntrinsics(list, stackId) as unknown[])[index];
  }
  if (Object.keys(o).some((k) => k === 'Ref' || k.startsWith('Fn::'))) throw new Error(`the harness cannot resolve ${JSON.stringify(o)}`);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolveIntrinsics(v, stackId)]));
}

/** The framework's physical id after a failed Create; it ignores the Delete that follows. */
export const CREATE_FAILED_MARKER = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

export interface CfnResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
  readonly Reason?: string;
  /** isComplete calls made. */
  readonly polls: number;
}

type Props = Record<string, unknown>;

/**
 * Calls the handlers as the Provider framework does (aws-cdk-lib
 * custom-resources/lib/provider-framework/runtime/framework.js): onEvent, then
 * isComplete with the request merged with onEvent's answer, every
 * `queryInterval` until complete, an error, or `maxPolls` (totalTimeout).
 * Time is simulated: polls follow each other at once, and `onPoll` lets a
 * test act between them.
 */
export class ProviderFramework {
  constructor(
    private readonly handlers: HandlerPair,
    private readonly maxPolls: number,
    public onPoll?: (poll: number) => void | Promise<void>,
  ) {}

  public async send(request: Record<string, unknown>): Promise<CfnResponse> {
    const physicalIn = request.PhysicalResourceId as string | undefined;
    if (request.RequestType === 'Delete' && physicalIn === CREATE_FAILED_MARKER) {
      return { Status: 'SUCCESS', PhysicalResourceId: physicalIn, polls: 0 };
    }
    let onEventResult: Record<string, unknown>;
    try {
      onEventResult = await this.handlers.onEvent({ ...request, ResponseURL: 'https://cloudformation.invalid/presigned' }) ?? {};
    } catch (e) {
      const physical = physicalIn ?? (request.RequestType === 'Create' ? CREATE_FAILED_MARKER : '');
      return { Status: 'FAILED', PhysicalResourceId: physical, Reason: String((e as Error).message), polls: 0 };
    }
    const physical = (onEventResult.PhysicalResourceId as string | undefined) ?? physicalIn ?? String(request.RequestId);
    if (request.RequestType === 'Delete' && physical !== physicalIn) {
      throw new Error(`DELETE: cannot change the physical resource ID from "${physicalIn}" to "${physical}"`);
    }
    const event: Record<string, unknown> = { ...request, ...onEventResult, PhysicalResourceId: physical };
    for (let poll = 1; poll <= this.maxPolls; poll++) {
      await this.onPoll?.(poll);
      let result: Record<string, unknown>;
      try {
        result = await this.handlers.isComplete(event);
      } catch (e) {
        return { Status: 'FAILED', PhysicalResourceId: physical, Reason: String((e as Error).message), polls: poll };
      }
      if (result.IsComplete) {
        const data = { ...(event.Data as object), ...(result.Data as object) } as Record<string, string>;
        return { Status: 'SUCCESS', PhysicalResourceId: (result.PhysicalResourceId as string | undefined) ?? physical, Data: data, polls: poll };
      }
      if (result.Data && Object.keys(result.Data).length > 0) {
        throw new Error('"Data" is not allowed if "IsComplete" is "False"');
      }
    }
    return { Status: 'FAILED', PhysicalResourceId: physical, Reason: 'Operation timed out', polls: this.maxPolls };
  }
}

/**
 * One custom resource as CloudFormation drives it: Create; Update, with the
 * Delete of the old physical resource in the cleanup phase when the id
 * changed; Delete; and the requests a rollback sends. What CloudFormation
 * records for it (DescribeStackResource) follows in `records`.
 */
export class CustomResource {
  public physicalId?: string;
  public props?: Props;
  private requests = 0;

  constructor(
    private readonly provider: ProviderFramework,
    private readonly logicalId = 'Image',
    private readonly records?: StackRecords,
    private readonly resourceType = 'Custom::InstanceImage',
    /** The stack's id in every request: another deployment of the same app has another. */
    public readonly stackId = EMULATOR_STACK_ID,
  ) {}

  public request(type: 'Create' | 'Update' | 'Delete', props: Props, extra: Record<string, unknown> = {}): Record<string, unknown> {
    this.requests++;
    return {
      RequestType: type,
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:framework-onEvent',
      StackId: this.stackId,
      RequestId: `request-${this.requests}`,
      LogicalResourceId: this.logicalId,
      ResourceType: this.resourceType,
      ResourceProperties: { ServiceToken: 'token', ...props },
      ...extra,
    };
  }

  public async create(props: Props): Promise<CfnResponse> {
    const response = await this.provider.send(this.request('Create', props));
    this.physicalId = response.PhysicalResourceId;
    this.props = props;
    if (response.Status === 'SUCCESS') this.records?.set(this.logicalId, response.PhysicalResourceId);
    return response;
  }

  /** The update phase only: the old resource's Delete is left to {@link cleanup}. */
  public async update(props: Props): Promise<CfnResponse & { replaced?: { physicalId: string; props: Props } }> {
    const old = { physicalId: this.physicalId!, props: this.props! };
    const response = await this.provider.send(this.request('Update', props, {
      PhysicalResourceId: old.physicalId,
      OldResourceProperties: old.props,
    }));
    if (response.Status === 'SUCCESS') {
      this.physicalId = response.PhysicalResourceId;
      this.props = props;
      this.records?.set(this.logicalId, response.PhysicalResourceId);
      if (response.PhysicalResourceId !== old.physicalId) return { ...response, replaced: old };
    }
    return response;
  }

  /**
   * A later resource failed after a replacing Update succeeded: CloudFormation
   * goes back to the old physical resource (it records the old id again) and,
   * in UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, deletes the new one with its own properties.
   */
  public async rollbackReplacement(previous: { physicalId: string; props: Props }): Promise<CfnResponse> {
    const failed = { physicalId: this.physicalId!, props: this.props! };
    this.physicalId = previous.physicalId;
    this.props = previous.props;
    this.records?.set(this.logicalId, previous.physicalId);
    if (this.records) this.records.status = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    return this.provider.send(this.request('Delete', failed.props, { PhysicalResourceId: failed.physicalId }));
  }

  /** UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: the replaced resource is deleted with its own properties. */
  public async cleanup(replaced: { physicalId: string; props: Props }): Promise<CfnResponse> {
    if (this.records) this.records.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    return this.provider.send(this.request('Delete', replaced.props, { PhysicalResourceId: replaced.physicalId }));
  }

  /** Stack deletion (or the resource removed from the template): CloudFormation records the resource's own id until it is gone. */
  public async delete(): Promise<CfnResponse> {
    if (this.records) this.records.status = 'DELETE_IN_PROGRESS';
    const response = await this.provider.send(this.request('Delete', this.props!, { PhysicalResourceId: this.physicalId }));
    if (response.Status === 'SUCCESS') this.records?.remove(this.logicalId);
    return response;
  }
}
