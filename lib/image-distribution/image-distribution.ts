import * as path from 'node:path';
import { CfnResource, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { templatePath } from '../shared/paths';
import { handlerFunction, waitingProvider } from '../shared/provider';
import { startPhaseTimeout, validateImageWait } from '../shared/waits';
import { validateDistributionProps } from './checks';
import { CopiesAvailability } from './copies-availability';
import { grantDistributionPermissions, grantParameterRead } from './permissions';
import type { ImageDistributionProps } from './props';
import {
  COPIED_IMAGE_IDS_ATTRIBUTE,
  DEFAULT_PARAMETER_ACCEPT_SECONDS,
  DISTRIBUTION_RESOURCE_TYPE,
  DistributionResourceProperties,
  ENV_PARAMETER_ACCEPT_SECONDS,
  PARAMETER_CHECK_RESOURCE_TYPE,
  ParameterCheckProperties,
} from './shared';

export type { ImageDistributionProps } from './props';

const SERVICE_TIMEOUT = Duration.hours(1);

/**
 * Promotes an {@link InstanceImage}: launch permissions for accounts and
 * organizations, copies to other regions, deprecation, and an SSM parameter
 * naming it. Nothing of it happens before `promoteAfter` (the AMI test)
 * succeeded, so a failing image is never shared, copied or published. Changes
 * of these settings apply in place; a new image is a new distribution, and the
 * old one's copies go after the deploy unless the image's `keepPrevious` keeps
 * that image.
 *
 * ```ts
 * new ImageDistribution(this, 'Promote', { image, promoteAfter: [test.condition], shareWithAccounts: ['111122223333'], volumeKey });
 * ```
 */
export class ImageDistribution extends Construct {
  /** The id of the image distributed, once it is promoted. */
  public readonly imageId: string;

  /** `<region>=<image id>` of each copy, comma-separated; undefined without `copyToRegions`. */
  public readonly copiedImageIds?: string;

  /** The SSM parameter holding the image id, when `ssmParameterName` is set. */
  public readonly parameter?: ssm.IStringParameter;

  /**
   * With `ssmParameterName`: the `Custom::ImageParameterCheck` resource, complete once GetParameter returns
   * the image id. SSM validates an `aws:ec2:image` value after PutParameter has answered, so the parameter
   * resource alone does not tell that it holds the image; depend on this one instead.
   */
  public readonly parameterCheck?: CustomResource;

  /** The function that starts the promotion (the Provider framework's `onEvent`). */
  public readonly onEventHandler: lambda.IFunction;
  /** The function that applies it and polls the copies (the Provider framework's `isComplete`). */
  public readonly isCompleteHandler: lambda.IFunction;

  /** The `Custom::ImageDistribution` resource. */
  public readonly resource: CustomResource;

  /** With a `totalTimeout` over 55 minutes and copies: the copies' wait condition and their check. */
  private readonly copiesAvailability?: CopiesAvailability;

  constructor(scope: Construct, id: string, props: ImageDistributionProps) {
    super(scope, id);
    validateDistributionProps(this, props);
    const totalTimeout = props.totalTimeout ?? Duration.minutes(45);
    const queryInterval = props.queryInterval ?? Duration.seconds(30);
    const longWait = validateImageWait(totalTimeout, queryInterval) && (props.copyToRegions ?? []).length > 0;

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const runtime = (file: string) => path.join(__dirname, 'runtime', file);
    const onEvent = handlerFunction(this, 'OnEvent', runtime('on-event.ts'), 'onDistributionEvent', logRetention);
    const isComplete = handlerFunction(this, 'IsComplete', runtime('is-complete.ts'), 'isDistributionComplete', logRetention);
    const image = props.image;
    grantDistributionPermissions(this, {
      onEvent,
      isComplete,
      owner: image.owner,
      legacyOwner: image.legacyOwner,
      imageId: image.imageId,
      copyToRegions: props.copyToRegions ?? [],
      copyKmsKeyArn: props.copyKmsKeyArn,
      volumeKey: props.volumeKey,
    });
    this.onEventHandler = onEvent;
    this.isCompleteHandler = isComplete;
    // Over an hour, the waiter only covers starting the copies: a wait condition follows them.
    const providerTimeout = longWait ? startPhaseTimeout(queryInterval) : totalTimeout;
    const provider = waitingProvider(this, { onEvent, isComplete, totalTimeout: providerTimeout, queryInterval, logRetention });

    const properties: DistributionResourceProperties = {
      ImageId: image.imageId,
      Owner: image.owner,
      RemovalPolicy: image.removalPolicy,
      KeepPrevious: image.keepPrevious > 0 ? String(image.keepPrevious) : undefined,
      ShareWithAccounts: nonEmpty(props.shareWithAccounts),
      ShareWithOrganizationArns: nonEmpty(props.shareWithOrganizationArns),
      DeprecateAfterDays: props.deprecateAfterDays !== undefined ? String(props.deprecateAfterDays) : undefined,
      CopyToRegions: nonEmpty(props.copyToRegions),
      CopyKmsKeyArn: props.copyKmsKeyArn,
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: DISTRIBUTION_RESOURCE_TYPE,
      properties: { ...properties },
      serviceTimeout: SERVICE_TIMEOUT,
    });
    for (const gate of props.promoteAfter ?? []) {
      this.resource.node.addDependency(gate);
    }
    if (longWait) {
      // Copies that may take hours: one resource (the same handlers) starts them after the gates, a wait
      // condition follows them, and the distribution proper shares and deprecates once every copy is available.
      this.copiesAvailability = new CopiesAvailability(this, 'Copies', {
        owner: image.owner,
        imageId: image.imageId,
        imageName: image.imageName,
        regions: props.copyToRegions ?? [],
        identity: () => ({ image: image.contentProperties, regions: properties.CopyToRegions, key: properties.CopyKmsKeyArn }),
        timeout: totalTimeout,
        logRetention,
      });
      const starter = new CustomResource(this, 'CopiesStarted', {
        serviceToken: provider.serviceToken,
        resourceType: DISTRIBUTION_RESOURCE_TYPE,
        properties: {
          ...properties,
          StartOnly: 'true',
          CheckRuleName: this.copiesAvailability.checkRuleName,
          SignalId: this.copiesAvailability.signalId,
          DistributionLogicalId: Stack.of(this).getLogicalId(this.resource.node.defaultChild as CfnResource),
        } satisfies DistributionResourceProperties,
        serviceTimeout: SERVICE_TIMEOUT,
      });
      // Nothing of the copies' wait exists before the gates: its handle's pre-signed URL is minted when the handle is
      // created, and its lifetime is undocumented (about 24 hours seen), so a long bake, image and test before it
      // must not age it.
      for (const gate of props.promoteAfter ?? []) {
        starter.node.addDependency(gate);
        this.copiesAvailability.node.addDependency(gate);
      }
      this.copiesAvailability.attach(starter.node.defaultChild as CfnResource, isComplete);
      this.resource.node.addDependency(this.copiesAvailability.condition);
    }
    this.imageId = this.resource.getAttString('ImageId');
    if (properties.CopyToRegions) {
      this.copiedImageIds = this.resource.getAttString(COPIED_IMAGE_IDS_ATTRIBUTE);
    }
    if (props.ssmParameterName) {
      // Its value is the distribution's attribute: the parameter changes only once the image is promoted.
      this.parameter = new ssm.StringParameter(this, 'ImageIdParameter', {
        parameterName: props.ssmParameterName,
        stringValue: this.imageId,
        dataType: ssm.ParameterDataType.AWS_EC2_IMAGE,
        description: `AMI made by ami-from-instance from ${templatePath(image)}, promoted after its test`,
      });
      // SSM accepts an aws:ec2:image value asynchronously: the deploy goes on once the parameter holds the image
      // id, and fails naming both values if it does not within the bound (on the same Provider, no new function).
      grantParameterRead(isComplete, props.ssmParameterName);
      // The bound ends before the waiter gives up, so that a refused value fails with its own reason.
      const bound = Math.max(0, Math.min(DEFAULT_PARAMETER_ACCEPT_SECONDS, providerTimeout.toSeconds() - queryInterval.toSeconds()));
      isComplete.addEnvironment(ENV_PARAMETER_ACCEPT_SECONDS, String(bound));
      const check: ParameterCheckProperties = { ParameterName: props.ssmParameterName, ImageId: this.imageId };
      this.parameterCheck = new CustomResource(this, 'ParameterCheck', {
        serviceToken: provider.serviceToken,
        resourceType: PARAMETER_CHECK_RESOURCE_TYPE,
        properties: { ...check },
        serviceTimeout: SERVICE_TIMEOUT,
      });
      this.parameterCheck.node.addDependency(this.parameter);
    }
  }
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}
