import { Stack, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import type { ImageDistributionProps } from './props';

/**
 * Checks shared by the construct's props and the app's context keys, which
 * have the same names: each returns the message for a bad value, naming the
 * option and showing the value, or `undefined` when the value is good.
 * Callers skip unresolved tokens.
 */

const ACCOUNT_ID = /^\d{12}$/;
const ORGANIZATION_ARN = /^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/;
const OU_ARN = /^arn:aws[a-z-]*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const SSM_PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;

let knownRegions: ReadonlySet<string> | undefined;

/** Regions aws-cdk-lib knows; built on first use (about 90 ms), so a synth without copyToRegions never pays it. */
export function isKnownRegion(region: string): boolean {
  knownRegions ??= new Set(RegionInfo.regions.map((r) => r.name));
  return knownRegions.has(region);
}

const show = (value: unknown) => JSON.stringify(value);

/** Account ids to share with (`shareWithAccounts`): 12 digits each. */
export function checkAccounts(values: readonly string[]): string | undefined {
  if (values.some((v) => v.toLowerCase() === 'all')) {
    return 'shareWithAccounts must not be "all": that would make the image public; list 12-digit account ids';
  }
  const bad = values.filter((v) => !ACCOUNT_ID.test(v));
  return bad.length > 0 ? `shareWithAccounts must be 12-digit AWS account ids, got ${show(bad.join(','))}` : undefined;
}

/** Organization and OU ARNs to share with (`shareWithOrganizationArns`). */
export function checkOrganizationArns(values: readonly string[]): string | undefined {
  if (values.some((v) => v.toLowerCase() === 'all')) {
    return 'shareWithOrganizationArns must not be "all": that would make the image public; list organization or OU ARNs';
  }
  const bad = values.filter((v) => !ORGANIZATION_ARN.test(v) && !OU_ARN.test(v));
  return bad.length > 0
    ? `shareWithOrganizationArns must be organization ARNs (arn:aws:organizations::<account>:organization/o-…) or OU ARNs (…:ou/o-…/ou-…), got ${show(bad.join(','))}`
    : undefined;
}

/** `ownRegion` is checked only when it is known at synth (a stack with an explicit env). */
export function checkCopyRegions(values: readonly string[], ownRegion?: string): string | undefined {
  const unknown = values.filter((r) => !isKnownRegion(r));
  if (unknown.length > 0) {
    return `copyToRegions must be AWS regions, got unknown ${show(unknown.join(','))}`;
  }
  if (ownRegion && values.includes(ownRegion)) {
    return `copyToRegions must not include the stack's own region ${show(ownRegion)}: the image is made there`;
  }
  if (new Set(values).size !== values.length) {
    return `copyToRegions must not repeat a region, got ${show(values.join(','))}`;
  }
  return undefined;
}

/** A KMS key ARN, for `option`. */
export function checkKmsKeyArn(value: string, option: string): string | undefined {
  return KMS_KEY_ARN.test(value) ? undefined : `${option} must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got ${show(value)}`;
}

/**
 * Sharing needs the key of the instance's volumes: snapshots encrypted with the
 * AWS managed key `aws/ebs` cannot be shared with other accounts.
 */
export function checkSharingKey(option: 'shareWithAccounts' | 'shareWithOrganizationArns', values: readonly string[], keyOption: string): string {
  return `${option} needs ${keyOption}, the customer managed KMS key that encrypts the instance's volumes: ` +
    `snapshots encrypted with the AWS managed key aws/ebs cannot be shared with other accounts, got ${show(values.join(','))} without it`;
}

/**
 * The copies are shared too; without copyKmsKeyArn CopyImage encrypts them
 * with each copy region's default EBS key, `aws/ebs` unless the account set a
 * customer managed one there, and snapshots encrypted with `aws/ebs` cannot
 * be shared: refused, unless the user states the default key is customer managed.
 */
export function checkSharedCopiesKey(option: 'shareWithAccounts' | 'shareWithOrganizationArns', values: readonly string[],
  copy: { regions: readonly string[]; keyArn?: string; defaultKeyIsCustomerManaged?: boolean }): string | undefined {
  if (values.length === 0 || copy.regions.length === 0 || copy.keyArn !== undefined || copy.defaultKeyIsCustomerManaged === true) return undefined;
  return `${option} ${show(values.join(','))} with copyToRegions and no copyKmsKeyArn: the copies are shared too, and are encrypted with ` +
    'the default EBS key of each copy region, aws/ebs unless the account set another, and copies encrypted with aws/ebs cannot be shared with other accounts. ' +
    'Set copyKmsKeyArn, or copyRegionsDefaultKeyIsCustomerManaged=true if each copy region\'s default EBS key is customer managed and shared with those accounts';
}

/**
 * A KMS key lives in one region. One key can encrypt copies in several regions
 * only as a multi-Region key (`mrk-`), whose replicas share its id.
 */
export function checkCopyKmsKeyArn(value: string, regions: readonly string[]): string | undefined {
  const match = KMS_KEY_ARN.exec(value);
  if (!match) return checkKmsKeyArn(value, 'copyKmsKeyArn');
  if (regions.length === 0) {
    return `copyKmsKeyArn needs copyToRegions: it encrypts the copies, got ${show(value)} with no regions`;
  }
  const [, keyRegion, keyId] = match;
  if (!keyId.startsWith('mrk-') && (regions.length > 1 || regions[0] !== keyRegion)) {
    return `copyKmsKeyArn must be in the copy region ${show(regions.join(','))}, or a multi-Region key (mrk-…) for several regions, got ${show(value)}`;
  }
  return undefined;
}

/**
 * The longest deprecation period: EnableImageDeprecation refuses a DeprecateAt
 * more than 10 years ahead (EC2 API Reference, EnableImageDeprecation), and
 * ten years hold at least 3,652 days.
 */
export const MAX_DEPRECATE_AFTER_DAYS = 3650;

/** Days after which the image is deprecated (`deprecateAfterDays`): a whole number from 1 to 3650 (`MAX_DEPRECATE_AFTER_DAYS`). */
export function checkDeprecateAfterDays(value: number): string | undefined {
  return Number.isInteger(value) && value > 0 && value <= MAX_DEPRECATE_AFTER_DAYS ? undefined
    : `deprecateAfterDays must be a whole number of days from 1 to ${MAX_DEPRECATE_AFTER_DAYS} (EnableImageDeprecation takes a date at most 10 years ahead), got ${show(value)}`;
}

/** The name of the SSM parameter that holds the image id (`ssmParameterName`). */
export function checkSsmParameterName(value: string): string | undefined {
  if (!SSM_PARAMETER_NAME.test(value) || /^\/?(aws|ssm)/i.test(value)) {
    return `ssmParameterName must be 1-1011 characters of [A-Za-z0-9_.-/], not starting with "aws" or "ssm", got ${show(value)}`;
  }
  return undefined;
}

/**
 * Refuses bad props at synth. Tokens are skipped: they are known only at deploy.
 */
export function validateDistributionProps(scope: Construct, props: ImageDistributionProps): void {
  const regions = props.copyToRegions ?? [];
  const region = Stack.of(scope).region;
  const checks: Array<string | undefined> = [
    props.shareWithAccounts ? checkAccounts(props.shareWithAccounts) : undefined,
    props.shareWithOrganizationArns ? checkOrganizationArns(props.shareWithOrganizationArns) : undefined,
    checkCopyRegions(regions, Token.isUnresolved(region) ? undefined : region),
    props.copyKmsKeyArn !== undefined ? checkCopyKmsKeyArn(props.copyKmsKeyArn, regions) : undefined,
    props.deprecateAfterDays !== undefined ? checkDeprecateAfterDays(props.deprecateAfterDays) : undefined,
    props.ssmParameterName !== undefined ? checkSsmParameterName(props.ssmParameterName) : undefined,
  ];
  const shared = [['shareWithAccounts', props.shareWithAccounts], ['shareWithOrganizationArns', props.shareWithOrganizationArns]] as const;
  for (const [option, value] of shared) {
    if (value && value.length > 0 && !props.volumeKey) checks.push(checkSharingKey(option, value, 'volumeKey'));
    if (value) {
      checks.push(checkSharedCopiesKey(option, value, { regions, keyArn: props.copyKmsKeyArn, defaultKeyIsCustomerManaged: props.copyRegionsDefaultKeyIsCustomerManaged }));
    }
  }
  const error = checks.find((c) => c !== undefined);
  if (error) throw new Error(error);
}
