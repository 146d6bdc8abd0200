import { CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { bundledHandler } from './bundled-handler';

/**
 * The pieces every custom resource of this project is made of, in one place
 * so that the image and its distribution are built alike: handler functions
 * with their own log groups and roles, and a Provider framework waiter.
 */

/** Every handler's own timeout: no function waits; the framework's waiter does. */
export const HANDLER_TIMEOUT = Duration.minutes(2);

/**
 * A role for a Lambda function that may write only to its own log group. Not
 * the default role: AWSLambdaBasicExecutionRole lets a function create and
 * write to any log group in the account.
 */
export function lambdaRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return role;
}

/** A handler bundled from `entry` (exporting `handlerName`), with its log group and role. */
export function handlerFunction(scope: Construct, id: string, entry: string, handlerName: string, retention: logs.RetentionDays): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY });
  return bundledHandler(scope, id, {
    entry,
    handler: handlerName,
    // The newest Node.js runtime Lambda offers (cdk-nag L1 checks it).
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: HANDLER_TIMEOUT,
    logGroup,
    role: lambdaRole(scope, `${id}Role`, logGroup),
  });
}

export interface WaitingProviderProps {
  readonly onEvent: lambda.Function;
  readonly isComplete: lambda.Function;
  readonly totalTimeout: Duration;
  readonly queryInterval: Duration;
  readonly logRetention: logs.RetentionDays;
}

/** A Provider framework with `isComplete`, its log group, its two roles, and the cdk-nag findings it brings acknowledged. */
export function waitingProvider(scope: Construct, props: WaitingProviderProps): cr.Provider {
  const providerLogs = new logs.LogGroup(scope, 'ProviderLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const provider = new cr.Provider(scope, 'Provider', {
    onEventHandler: props.onEvent,
    isCompleteHandler: props.isComplete,
    totalTimeout: props.totalTimeout,
    queryInterval: props.queryInterval,
    logGroup: providerLogs,
    // Two roles, as the Provider requires (one shared role would be a circular dependency through the waiter).
    frameworkOnEventRole: lambdaRole(scope, 'ProviderOnEventRole', providerLogs),
    frameworkCompleteAndTimeoutRole: lambdaRole(scope, 'ProviderWaiterRole', providerLogs),
  });
  acknowledgeProviderFindings(provider, [props.onEvent, props.isComplete]);
  return provider;
}

/**
 * The Provider framework grants its functions and its waiter state machine
 * `lambda:InvokeFunction` on the functions they call and their versions
 * (`<function ARN>:*`); each finding names one function of this construct.
 */
function acknowledgeProviderFindings(provider: cr.Provider, handlers: lambda.IFunction[]): void {
  const stack = Stack.of(provider);
  const invokeFinding = (fn: lambda.IFunction) =>
    `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`;
  const invokeReason = (fn: lambda.IFunction) =>
    `lambda:InvokeFunction granted by the CDK Provider framework on ${fn.node.path} and its versions (":*" is the version qualifier), not on any other function.`;

  const frameworkFunctions = ['framework-onEvent', 'framework-isComplete', 'framework-onTimeout']
    .map((id) => provider.node.findChild(id) as lambda.Function);
  for (const frameworkFn of frameworkFunctions) {
    const policy = frameworkFn.role!.node.findChild('DefaultPolicy');
    // Each framework function may invoke both handlers (Provider.addPermissions).
    for (const target of handlers) {
      Validations.of(policy).acknowledge({ id: invokeFinding(target), reason: invokeReason(target) });
    }
  }

  const waiter = provider.node.findChild('waiter-state-machine');
  const waiterPolicy = waiter.node.findChild('Role').node.findChild('DefaultPolicy');
  for (const target of frameworkFunctions.slice(1)) {
    Validations.of(waiterPolicy).acknowledge({ id: invokeFinding(target), reason: invokeReason(target) });
  }
  Validations.of(waiter).acknowledge({
    id: 'AwsSolutions-SF1',
    reason: 'The waiter only sequences isComplete calls; their outcome is logged by the handlers and the framework functions in log groups with retention, ' +
      'and Step Functions keeps the execution history. Logging the state machine to CloudWatch needs logs:CreateLogDelivery and related actions on "*", ' +
      'which this stack grants nowhere.',
  });
  Validations.of(waiter).acknowledge({
    id: 'AwsSolutions-SF2',
    reason: 'X-Ray tracing would need xray:PutTraceSegments on "*" for a state machine that only retries one Lambda call on a timer; ' +
      'the handlers\' JSON logs carry the request id of every step.',
  });
}
