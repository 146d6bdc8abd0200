import { serve, Served } from './serve';

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A stand-in for the two CloudFormation calls the handlers make:
 * DescribeStackResource and DescribeStacks (the stack's status only), in CloudFormation's query protocol. It answers the
 * physical id that the harness's {@link CustomResource}s record for a logical
 * id, as CloudFormation records it: the new id after a replacing Update (so the
 * cleanup Delete of the old one sees another id), the old one again after a
 * rollback, the resource's own id while it is being deleted, and "does not
 * exist" (a `ValidationError`, as CloudFormation answers) once it is gone or
 * before it was ever created.
 *
 * Not a moto bridge: moto's CloudFormation would need the stack itself deployed.
 */
export class StackRecords {
  private readonly physicalIds = new Map<string, string>();
  private served?: Served;
  /** DescribeStackResource calls received, by logical id. */
  public readonly calls: string[] = [];
  /**
   * The stack's status, answered to DescribeStacks: the handlers read it during a Delete to tell the cleanup after a
   * rollback (`UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`) from the cleanup after an update a user made.
   */
  public status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';

  public set(logicalId: string, physicalId: string): void {
    this.physicalIds.set(logicalId, physicalId);
  }

  public remove(logicalId: string): void {
    this.physicalIds.delete(logicalId);
  }

  public get(logicalId: string): string | undefined {
    return this.physicalIds.get(logicalId);
  }

  public reset(): void {
    this.physicalIds.clear();
    this.calls.length = 0;
    this.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  }

  public get endpoint(): string {
    if (!this.served) throw new Error('stack records not started');
    return this.served.url;
  }

  public async start(): Promise<void> {
    this.served = await serve((_req, body) => this.answer(new URLSearchParams(body)), (e) => error(500, 'InternalFailure', String(e)));
  }

  public async stop(): Promise<void> {
    await this.served?.stop();
  }

  private answer(params: URLSearchParams): { status: number; body: string } {
    const action = params.get('Action');
    const stackName = params.get('StackName') ?? '';
    const logicalId = params.get('LogicalResourceId') ?? '';
    if (action === 'DescribeStacks') {
      return {
        status: 200,
        body: `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>` +
          `<StackId>${escape(stackName)}</StackId><StackName>AmiFromInstanceStack</StackName>` +
          `<CreationTime>2026-12-01T00:00:00.000Z</CreationTime><StackStatus>${escape(this.status)}</StackStatus>` +
          '</member></Stacks></DescribeStacksResult>' +
          '<ResponseMetadata><RequestId>stack-records</RequestId></ResponseMetadata></DescribeStacksResponse>',
      };
    }
    if (action !== 'DescribeStackResource') {
      return error(400, 'InvalidAction', `stack records: ${action} is not emulated`);
    }
    this.calls.push(logicalId);
    const physicalId = this.physicalIds.get(logicalId);
    if (physicalId === undefined) {
      return error(400, 'ValidationError', `Resource ${logicalId} does not exist for stack ${stackName}`);
    }
    return {
      status: 200,
      body: `<DescribeStackResourceResponse xmlns="${NS}"><DescribeStackResourceResult><StackResourceDetail>` +
        `<StackId>${escape(stackName)}</StackId><StackName>AmiFromInstanceStack</StackName>` +
        `<LogicalResourceId>${escape(logicalId)}</LogicalResourceId><PhysicalResourceId>${escape(physicalId)}</PhysicalResourceId>` +
        '<ResourceType>Custom::Emulated</ResourceType><LastUpdatedTimestamp>2026-12-01T00:00:00.000Z</LastUpdatedTimestamp>' +
        '<ResourceStatus>UPDATE_COMPLETE</ResourceStatus></StackResourceDetail></DescribeStackResourceResult>' +
        '<ResponseMetadata><RequestId>stack-records</RequestId></ResponseMetadata></DescribeStackResourceResponse>',
    };
  }
}

function error(status: number, code: string, message: string): { status: number; body: string } {
  return {
    status,
    body: `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error>` +
      '<RequestId>stack-records</RequestId></ErrorResponse>',
  };
}
