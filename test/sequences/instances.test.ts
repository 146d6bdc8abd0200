/**
 * Deploy after deploy, for the instances: templates synthesized from two
 * configurations, and CloudFormation's update between them (templates.ts).
 * Every instance the update creates or replaces must run its bake or test
 * again and be waited for, and the distribution must wait for the new test.
 * The base is an `ami-…` id, which gets no CreationPolicy (the CloudFormation
 * helper scripts may be missing): only the wait conditions' logical ids carry
 * the replacement. An `ssm:` base is read once and kept (a new `baseImageRefresh`
 * reads it again: the source is replaced through the base's new resource), and
 * `sourceInstanceId` images an existing instance. `npm test` plays a few
 * configurations and switches; `npm run test:sequences` (SEQUENCE_RUNS set)
 * every pair of them.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { memoize, synthStack } from '../helpers/synth';
import { instancesRunAgain, replacedInstances, TemplateJson } from './templates';

const BASE = { baseImage: 'ami-0123456789abcdef0', ssmParameterName: '/images/web/latest' };
const CONFIGURATIONS: Record<string, Record<string, string | undefined>> = {
  'defaults': {},
  'rebuildToken=2': { rebuildToken: '2' },
  'timeoutMinutes=600': { timeoutMinutes: '600' },
  'keepInstancesRunning=true': { keepInstancesRunning: 'true' },
  'rootVolumeGiB=16': { rootVolumeGiB: '16' },
  'scriptTimeout=20': { scriptTimeout: '20' },
  'timeoutMinutes=720': { timeoutMinutes: '720' },
  'instanceType=t3.small': { instanceType: 't3.small' },
  // An SSM base is read once (Custom::BaseImage) and kept: a new refresh is a new read, so maybe a new base AMI.
  'baseImage=ssm:/images/base': { baseImage: 'ssm:/images/base' },
  'baseImage=ssm:/images/base,baseImageRefresh=2': { baseImage: 'ssm:/images/base', baseImageRefresh: '2' },
  // An existing instance imaged: no source of the stack's, only the target.
  'sourceInstanceId=i-0123456789abcdef0': { sourceInstanceId: 'i-0123456789abcdef0', baseImage: undefined },
};
const LONG = process.env.SEQUENCE_RUNS !== undefined;
const played = LONG ? Object.keys(CONFIGURATIONS) : ['defaults', 'rebuildToken=2', 'timeoutMinutes=600', 'keepInstancesRunning=true'];

const synthesized = memoize((name: string) => {
  const context = Object.fromEntries(Object.entries({ ...BASE, ...CONFIGURATIONS[name] }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const { template } = synthStack({}, context);
  return { json: template.toJSON() as TemplateJson, template };
});
const targetOf = (template: Template): string => {
  const instances = template.findResources('AWS::EC2::Instance');
  return Object.keys(instances).find((id) => JSON.stringify(instances[id].Properties.ImageId).includes('Fn::GetAtt'))!;
};

const pairs = [
  ...played.flatMap((a) => played.filter((b) => b !== a).map((b) => [a, b] as const)),
  // Each base and mode switch once in npm test (every pair with SEQUENCE_RUNS set).
  ...(LONG ? [] : [
    ['baseImage=ssm:/images/base', 'baseImage=ssm:/images/base,baseImageRefresh=2'],
    ['defaults', 'sourceInstanceId=i-0123456789abcdef0'],
    ['sourceInstanceId=i-0123456789abcdef0', 'rebuildToken=2'],
  ] as const),
];

test.each(pairs)('%s → %s: every instance created or replaced runs again and is waited for; the distribution waits for the new test', (from, to) => {
  const [before, after] = [synthesized(from), synthesized(to)];
  expect(instancesRunAgain(before.json, after.json, targetOf(after.template))).toEqual([]);
});

test('a new image replaces the target (its ImageId is the image\'s), and only the target', () => {
  const [before, after] = [synthesized('defaults'), synthesized('rebuildToken=2')];
  expect(replacedInstances(before.json, after.json)).toEqual([targetOf(after.template)]);
});

test('a new baseImageRefresh replaces the source (a new read of the base) and the target (a new image)', () => {
  const [before, after] = [synthesized('baseImage=ssm:/images/base'), synthesized('baseImage=ssm:/images/base,baseImageRefresh=2')];
  const target = targetOf(after.template);
  const replaced = replacedInstances(before.json, after.json);
  expect(replaced).toContain(target);
  expect(replaced.filter((id) => id !== target)).toHaveLength(1);
});

test('the check notices: a replaced target that signals the handle of before, or a distribution that does not wait for the new test', () => {
  const [before, after] = [synthesized('defaults'), synthesized('rebuildToken=2')];
  const target = targetOf(after.template);
  const oldHandle = Object.keys(before.json.Resources).find((id) => id.startsWith('TestHandle'))!;
  const newHandle = Object.keys(after.json.Resources).find((id) => id.startsWith('TestHandle'))!;
  expect(newHandle).not.toBe(oldHandle);

  // The same update if the handle's logical id had not changed: the new target signals a condition already complete.
  const stale = JSON.parse(JSON.stringify(after.json).split(newHandle).join(oldHandle)) as TemplateJson;
  expect(instancesRunAgain(before.json, stale, target)).toEqual([
    expect.stringMatching(new RegExp(`^${target} is replaced but signals only handles of before`)),
    expect.stringMatching(/does not wait for the replaced target's test \(nothing to wait for\)/),
  ]);

  // The distribution without its dependencies: it would promote the image before the new target's test.
  const distributionId = Object.keys(after.json.Resources).find((id) => after.json.Resources[id].Type === 'Custom::ImageDistribution')!;
  const unordered = JSON.parse(JSON.stringify(after.json)) as { Resources: Record<string, { DependsOn?: unknown }> };
  delete unordered.Resources[distributionId].DependsOn;
  expect(instancesRunAgain(before.json, unordered as TemplateJson, target)).toEqual([expect.stringMatching(/could be promoted/)]);
});
