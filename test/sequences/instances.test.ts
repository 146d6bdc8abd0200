/**
 * Deploy after deploy, for the instances: templates synthesized from two
 * configurations, and CloudFormation's update between them (templates.ts).
 * Every instance the update creates or replaces must run its bake or test
 * again and be waited for, and the distribution must wait for the new test.
 * The base is an `ami-…` id, which gets no CreationPolicy (the CloudFormation
 * helper scripts may be missing): only the wait conditions' logical ids carry
 * the replacement. `npm test` plays a few configurations; `npm run
 * test:sequences` (SEQUENCE_RUNS set) every pair of them.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { memoize, synthStack } from '../helpers/synth';
import { instancesRunAgain, replacedInstances, TemplateJson } from './templates';

const BASE = { baseImage: 'ami-0123456789abcdef0', ssmParameterName: '/images/web/latest' };
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  'defaults': {},
  'rebuildToken=2': { rebuildToken: '2' },
  'timeoutMinutes=600': { timeoutMinutes: '600' },
  'keepInstancesRunning=true': { keepInstancesRunning: 'true' },
  'rootVolumeGiB=16': { rootVolumeGiB: '16' },
  'scriptTimeout=20': { scriptTimeout: '20' },
  'timeoutMinutes=720': { timeoutMinutes: '720' },
  'instanceType=t3.small': { instanceType: 't3.small' },
};
const LONG = process.env.SEQUENCE_RUNS !== undefined;
const played = LONG ? Object.keys(CONFIGURATIONS) : ['defaults', 'rebuildToken=2', 'timeoutMinutes=600', 'keepInstancesRunning=true'];

const synthesized = memoize((name: string) => {
  const { template } = synthStack({}, { ...BASE, ...CONFIGURATIONS[name] });
  return { json: template.toJSON() as TemplateJson, template };
});
const targetOf = (template: Template): string => {
  const instances = template.findResources('AWS::EC2::Instance');
  return Object.keys(instances).find((id) => JSON.stringify(instances[id].Properties.ImageId).includes('Fn::GetAtt'))!;
};

const pairs = played.flatMap((a) => played.filter((b) => b !== a).map((b) => [a, b] as const));

test.each(pairs)('%s → %s: every instance created or replaced runs again and is waited for; the distribution waits for the new test', (from, to) => {
  const [before, after] = [synthesized(from), synthesized(to)];
  expect(instancesRunAgain(before.json, after.json, targetOf(after.template))).toEqual([]);
});

test('a new image replaces the target (its ImageId is the image\'s), and only the target', () => {
  const [before, after] = [synthesized('defaults'), synthesized('rebuildToken=2')];
  expect(replacedInstances(before.json, after.json)).toEqual([targetOf(after.template)]);
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
