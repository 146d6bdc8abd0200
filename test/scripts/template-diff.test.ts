import * as fs from 'node:fs';
import { renderDiff, replacementWarnings } from '../../scripts/template-diff';
import { snapshotPath } from '../helpers/template-snapshot';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
const committed = (): Template => JSON.parse(fs.readFileSync(snapshotPath('AmiFromInstanceStack'), 'utf-8'));

function ids(template: Template) {
  const entries = Object.entries(template.Resources);
  const image = entries.find(([, r]) => r.Type === 'Custom::InstanceImage')![0];
  const target = entries.find(([, r]) => r.Type === 'AWS::EC2::Instance' && JSON.stringify(r.Properties.ImageId).includes('Fn::GetAtt'))![0];
  const source = entries.find(([id, r]) => r.Type === 'AWS::EC2::Instance' && id !== target)![0];
  return { image, target, source };
}

test('an identical template, or one whose asset hashes alone differ, has no diff', () => {
  const before = committed();
  const after = JSON.parse(JSON.stringify(before).replace(/<asset-hash>/g, 'f'.repeat(64)));
  expect(renderDiff(before, before)).toBe('');
  expect(renderDiff(before, after)).toBe('');
});

test('a new source logical id (changed recipe) is flagged as replacing the source instance', () => {
  const before = committed();
  const after = committed();
  const { source } = ids(before);
  after.Resources[`${source.slice(0, -16)}0123456789abcdef`] = after.Resources[source];
  delete after.Resources[source];
  expect(replacementWarnings(before, after)).toContain(`REPLACES the source instance (${source}): removed, a resource with another logical id takes its place`);
});

test('a content-defining property of the image is flagged as a new AMI', () => {
  const before = committed();
  const after = committed();
  const { image } = ids(before);
  after.Resources[image].Properties.RebuildToken = 'next';
  after.Resources[image].Properties.RemovalPolicy = 'retain';
  const report = renderDiff(before, after);
  expect(report).toContain(`>>> NEW AMI from the image (${image}): RebuildToken changed`);
  expect(report).not.toMatch(/RemovalPolicy changed/);
});

test('a changed target instance type names the resource, the property and the values', () => {
  const before = committed();
  const after = committed();
  const { target } = ids(before);
  after.Resources[target].Properties.InstanceType = 't3.small';
  const report = renderDiff(before, after);
  expect(report).toContain(`>>> MAY REPLACE the target instance (${target}): InstanceType changed`);
  expect(report).toMatch(new RegExp(`AWS::EC2::Instance ${target} may be replaced[\\s\\S]*InstanceType[\\s\\S]*t3\\.micro[\\s\\S]*t3\\.small`));
  expect(report).not.toMatch(/\u001b\[/);
});

test('IAM changes are reported', () => {
  const before = committed();
  const after = committed();
  const policy = Object.values(after.Resources).find((r) => r.Type === 'AWS::IAM::Policy')!;
  (policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement.push({ Action: 'ec2:DeregisterImage', Effect: 'Allow', Resource: '*' });
  expect(renderDiff(before, after)).toMatch(/IAM Statement Changes[\s\S]*ec2:DeregisterImage/);
});
