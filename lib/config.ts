import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Node } from 'constructs';
import type { AmiFromInstanceStackProps } from './ami-from-instance-stack';
import {
  BaseImage,
  checkAccounts,
  checkCopyKmsKeyArn,
  checkCopyRegions,
  checkDeprecateAfterDays,
  checkDescription,
  checkExcludeDevices,
  checkImageName,
  checkInstanceId,
  checkKeepPrevious,
  checkKmsKeyArn,
  checkOrganizationArns,
  checkRootVolumeGiB,
  checkSharedCopiesKey,
  checkSharingKey,
  checkSsmParameterName,
  checkTags,
  MAX_IMAGE_WAIT,
  MAX_TOTAL_TIMEOUT,
  Recipe,
} from './index';

/** Where a relative `recipe` path starts: the project root (this file's parent folder). */
export const PROJECT_ROOT = path.join(__dirname, '..');

/**
 * The app's options, read from context (`cdk.json` or `-c key=value`). The
 * keys are a contract with users' pipelines: do not rename them.
 */
export const CONTEXT_KEYS = [
  'instanceType', 'architecture', 'vpcId', 'imageName', 'imageDescription', 'noReboot', 'removalPolicy',
  'rebuildToken', 'shareWithAccounts', 'shareWithOrganizationArns', 'copyToRegions', 'copyKmsKeyArn',
  'deprecateAfterDays', 'ssmParameterName', 'timeoutMinutes', 'pollSeconds', 'tags', 'volumeKmsKeyArn', 'keepInstancesRunning',
  'recipe', 'sourceInstanceId', 'baseImage', 'baseImageRefresh', 'keepPrevious', 'scriptTimeout', 'copyRegionsDefaultKeyIsCustomerManaged', 'rootVolumeGiB', 'excludeDevices',
] as const;

export type ContextKey = typeof CONTEXT_KEYS[number];

export interface AppConfig {
  /** Props for the stack, built from the valid values only. */
  readonly props: AmiFromInstanceStackProps;
  /** One message per bad value, naming the key and showing the value. */
  readonly errors: string[];
}

const ARCHITECTURES: Record<string, { arch: ec2.InstanceArchitecture; defaultType: string }> = {
  x86_64: { arch: ec2.InstanceArchitecture.X86_64, defaultType: 't3.micro' },
  arm64: { arch: ec2.InstanceArchitecture.ARM_64, defaultType: 't4g.micro' },
};
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const show = (value: unknown) => JSON.stringify(value);

/**
 * Reads and checks every context key. `env` is the account and region the
 * CLI resolved (CDK_DEFAULT_ACCOUNT/REGION), needed only for `vpcId`.
 */
export function readConfig(node: Node, env: { account?: string; region?: string } = {}): AppConfig {
  const errors: string[] = [];
  const raw = (key: ContextKey): unknown => node.tryGetContext(key);
  const text = (key: ContextKey): string | undefined => {
    const value = raw(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const list = (key: ContextKey): string[] | undefined => {
    const value = raw(key);
    if (value === undefined || value === null || value === '') return undefined;
    const items = (Array.isArray(value) ? value.map(String) : String(value).split(',')).map((v) => v.trim()).filter((v) => v !== '');
    return items.length > 0 ? items : undefined;
  };
  /** The value when `check` finds nothing wrong, else `undefined` and the error recorded. */
  const valid = <T>(value: T | undefined, check: (v: T) => string | undefined): T | undefined => {
    if (value === undefined) return undefined;
    const error = check(value);
    if (error) {
      errors.push(error);
      return undefined;
    }
    return value;
  };
  const oneOf = <T extends string>(key: ContextKey, allowed: readonly T[]): T | undefined =>
    valid(text(key), (v) => ((allowed as readonly string[]).includes(v) ? undefined : `${key} must be one of ${allowed.join(', ')}, got ${show(v)}`)) as T | undefined;
  const wholeNumber = (key: ContextKey): number | undefined =>
    valid(text(key), (v) => (/^-?\d+$/.test(v) ? undefined : `${key} must be a whole number, got ${show(v)}`)) === undefined ? undefined : Number(text(key));

  const architecture = oneOf('architecture', ['x86_64', 'arm64']) ?? 'x86_64';
  const { arch, defaultType } = ARCHITECTURES[architecture];
  // A bad value is reported and replaced by the default, so the rest of the app still builds and every error shows at once.
  const instanceType = valid(text('instanceType'), (v) => checkInstanceType(v, arch)) ?? defaultType;

  let vpcId = valid(text('vpcId'), (v) => (VPC_ID.test(v) ? undefined : `vpcId must look like vpc-0123456789abcdef0, got ${show(v)}`));
  if (vpcId && (!env.account || !env.region)) {
    errors.push(`vpcId needs the stack's account and region (Vpc.fromLookup reads the VPC at synth): run with AWS credentials so that CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION are set, got vpcId ${show(vpcId)} without them`);
    vpcId = undefined;
  }

  const noReboot = oneOf('noReboot', ['true', 'false']);
  const keepInstancesRunning = oneOf('keepInstancesRunning', ['true', 'false']);
  const removalPolicy = oneOf('removalPolicy', ['destroy', 'retain']);
  const copyToRegions = valid(list('copyToRegions'), (v) => checkCopyRegions(v, vpcId ? env.region : undefined));

  // Up to 55 minutes the Provider framework's waiter polls the image; longer, up to 12 hours, a wait condition follows it.
  const maxMinutes = MAX_IMAGE_WAIT.toMinutes();
  const timeoutMinutes = valid(wholeNumber('timeoutMinutes'), (v) => (v >= 1 && v <= maxMinutes
    ? undefined : `timeoutMinutes must be 1-${maxMinutes} (12 hours, a wait condition's limit), got ${v}`));
  // The bake's and the AMI test's wait conditions: at most 12 hours each.
  const scriptTimeout = valid(wholeNumber('scriptTimeout'), (v) => (v >= 1 && v <= maxMinutes
    ? undefined : `scriptTimeout must be 1-${maxMinutes} minutes (12 hours, a wait condition's limit), got ${v}`));
  const pollSeconds = valid(wholeNumber('pollSeconds'), (v) => (v >= 1 ? undefined : `pollSeconds must be at least 1, got ${v}`));
  const totalSeconds = (timeoutMinutes ?? 45) * 60;
  const interval = pollSeconds ?? 30;
  const polled = totalSeconds <= MAX_TOTAL_TIMEOUT.toSeconds();
  if ((timeoutMinutes !== undefined || pollSeconds !== undefined) && polled && (interval > totalSeconds || totalSeconds % interval !== 0)) {
    errors.push(`timeoutMinutes (${totalSeconds / 60} = ${totalSeconds} s) must be a whole multiple of pollSeconds, got pollSeconds ${interval}`);
  }

  let tags: Record<string, string> | undefined;
  const rawTags = raw('tags');
  if (rawTags !== undefined && rawTags !== '') {
    let parsed: unknown = rawTags;
    if (typeof rawTags === 'string') {
      try {
        parsed = JSON.parse(rawTags);
      } catch {
        parsed = undefined;
      }
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      errors.push(`tags must be a JSON object of string values such as {"team":"platform"}, got ${show(rawTags)}`);
    } else {
      tags = valid(parsed as Record<string, string>, checkTags);
    }
  }

  // The region is known at synth only with vpcId (an env); otherwise EC2 refuses a key of another region at deploy.
  const stackRegion = vpcId ? env.region : undefined;
  const volumeKmsKeyArn = valid(text('volumeKmsKeyArn'), (v) => checkKmsKeyArn(v, 'volumeKmsKeyArn') ?? (stackRegion && v.split(':')[3] !== stackRegion
    ? `volumeKmsKeyArn must be in the stack's region ${show(stackRegion)}: EBS volumes use a key of their own region, got ${show(v)}` : undefined));
  const sharing = { shareWithAccounts: valid(list('shareWithAccounts'), checkAccounts), shareWithOrganizationArns: valid(list('shareWithOrganizationArns'), checkOrganizationArns) };
  for (const option of ['shareWithAccounts', 'shareWithOrganizationArns'] as const) {
    const value = sharing[option];
    if (value && !volumeKmsKeyArn) {
      // A bad volumeKmsKeyArn is reported already.
      if (!text('volumeKmsKeyArn')) errors.push(checkSharingKey(option, value, 'volumeKmsKeyArn'));
      sharing[option] = undefined;
    }
  }

  const sourceInstanceId = valid(text('sourceInstanceId'), (v) => checkInstanceId(v, 'sourceInstanceId'));
  let rootVolumeGiB = valid(wholeNumber('rootVolumeGiB'), checkRootVolumeGiB);
  if (text('sourceInstanceId') && rootVolumeGiB !== undefined) {
    errors.push(`rootVolumeGiB has no use with sourceInstanceId (the image keeps that instance's volumes as they are), got rootVolumeGiB ${rootVolumeGiB}`);
    rootVolumeGiB = undefined;
  }
  if (sourceInstanceId && text('baseImage')) errors.push(`baseImage has no use with sourceInstanceId (the existing instance is imaged as it is), got baseImage ${show(text('baseImage'))}`);
  // Without `recipe`, the stack takes its default, the nginx demo.
  let recipe: Recipe | undefined;
  const recipePath = text('recipe');
  try {
    recipe = recipePath === undefined ? undefined : Recipe.fromDirectory(recipePath, { requireBake: text('sourceInstanceId') === undefined, baseDirectory: PROJECT_ROOT });
  } catch (e) {
    errors.push((e as Error).message);
  }
  let baseImage: BaseImage | undefined;
  try {
    baseImage = text('baseImage') || text('baseImageRefresh') ? BaseImage.fromContext(text('baseImage') ?? 'pinned', text('baseImageRefresh')) : undefined;
  } catch (e) {
    errors.push((e as Error).message);
  }

  const image = {
    imageName: valid(text('imageName'), checkImageName),
    description: valid(text('imageDescription'), (v) => checkDescription(v, 'imageDescription')),
    noReboot: noReboot === undefined ? undefined : noReboot === 'true',
    removalPolicy: removalPolicy === undefined ? undefined : removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    rebuildToken: text('rebuildToken'),
    keepPrevious: valid(wholeNumber('keepPrevious'), checkKeepPrevious),
    excludeDevices: valid(list('excludeDevices'), checkExcludeDevices),
    totalTimeout: errors.some((e) => /^(timeoutMinutes|pollSeconds)/.test(e)) ? undefined : Duration.minutes(totalSeconds / 60),
    queryInterval: errors.some((e) => /^(timeoutMinutes|pollSeconds)/.test(e)) ? undefined : Duration.seconds(interval),
    tags,
  };
  const copyKmsKeyArn = valid(text('copyKmsKeyArn'), (v) => checkCopyKmsKeyArn(v, copyToRegions ?? []));
  const defaultKeyIsCustomerManaged = oneOf('copyRegionsDefaultKeyIsCustomerManaged', ['true', 'false']);
  for (const option of ['shareWithAccounts', 'shareWithOrganizationArns'] as const) {
    const value = sharing[option];
    // A bad copyKmsKeyArn is reported already.
    const error = value && !text('copyKmsKeyArn')
      ? checkSharedCopiesKey(option, value, { regions: copyToRegions ?? [], defaultKeyIsCustomerManaged: defaultKeyIsCustomerManaged === 'true' }) : undefined;
    if (error) {
      errors.push(error);
      sharing[option] = undefined;
    }
  }
  const distribution = {
    // The copies wait as long as the image (over 55 minutes, with a wait condition of their own).
    totalTimeout: image.totalTimeout,
    queryInterval: image.queryInterval,
    ...sharing,
    copyToRegions,
    copyKmsKeyArn,
    copyRegionsDefaultKeyIsCustomerManaged: defaultKeyIsCustomerManaged === undefined ? undefined : defaultKeyIsCustomerManaged === 'true',
    deprecateAfterDays: valid(text('deprecateAfterDays'), (v) => (/^-?\d+(\.\d+)?$/.test(v)
      ? checkDeprecateAfterDays(Number(v))
      : `deprecateAfterDays must be a whole number of days from 1 to 3650, got ${show(v)}`)) === undefined ? undefined : Number(text('deprecateAfterDays')),
    ssmParameterName: valid(text('ssmParameterName'), checkSsmParameterName),
  };

  return {
    props: {
      architecture: arch,
      instanceType: new ec2.InstanceType(instanceType),
      vpcId,
      volumeKmsKeyArn,
      keepInstancesRunning: keepInstancesRunning === undefined ? undefined : keepInstancesRunning === 'true',
      recipe,
      sourceInstanceId,
      baseImage,
      scriptTimeout: scriptTimeout === undefined ? undefined : Duration.minutes(scriptTimeout),
      rootVolumeGiB,
      env: vpcId ? { account: env.account, region: env.region } : undefined,
      image: Object.fromEntries(Object.entries(image).filter(([, v]) => v !== undefined)),
      distribution: Object.fromEntries(Object.entries(distribution).filter(([, v]) => v !== undefined)),
    },
    errors,
  };
}

/** The app's own check: both instances take this type. */
function checkInstanceType(value: string, architecture: ec2.InstanceArchitecture): string | undefined {
  const [family, size, ...rest] = value.split('.');
  const classes = new Set<string>(Object.values(ec2.InstanceClass));
  const sizes = new Set<string>(Object.values(ec2.InstanceSize));
  if (rest.length > 0 || !family || !size || !classes.has(family) || !sizes.has(size)) {
    return `instanceType must be a known EC2 instance type such as "t3.micro", got ${show(value)}`;
  }
  const actual = new ec2.InstanceType(value).architecture;
  if (actual !== architecture) {
    return `instanceType ${show(value)} is ${actual}, but architecture is ${show(architecture)}`;
  }
  return undefined;
}
