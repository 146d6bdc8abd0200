/**
 * The library as a consumer gets it: installed from its tarball (npm pack),
 * without esbuild, into an app of its own with two tested images in one stack.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { App, CfnElement, CustomResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../src/app';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'two-images-'));
const app = new App({ outdir });
const stack = buildApp(app);
// Synthesizes with cdk-nag's AwsSolutions checks as a validation plugin: any finding throws here.
const template = Template.fromStack(stack);
const resources = (type: string) => template.findResources(type);
/** The logical id of an L1 resource, or of a custom resource's. */
const logicalId = (element: CfnElement | CustomResource) =>
  stack.resolve((element instanceof CustomResource ? element.node.defaultChild as CfnElement : element).logicalId) as string;

test('the library comes from the tarball, and esbuild is not installed', () => {
  const installed = path.dirname(require.resolve('ami-from-instance/package.json'));
  assert.ok(installed.includes(`${path.sep}node_modules${path.sep}ami-from-instance`), installed);
  assert.ok(!fs.existsSync(path.join(installed, 'lib')), 'the package ships dist/, not the TypeScript sources');
  assert.throws(() => require.resolve('esbuild'), /Cannot find module/);
});

test('two images, each from its own instance, with its own owner and name', () => {
  const images = Object.values(resources('Custom::InstanceImage')) as Array<{ Properties: Record<string, unknown> }>;
  assert.equal(images.length, 2);
  const owners = images.map((i) => i.Properties.Owner);
  assert.equal(new Set(owners).size, 2, `owners: ${owners.join(', ')}`);
  assert.deepEqual(images.map((i) => i.Properties.ImageNamePrefix).sort(), ['server', 'web']);
  assert.ok(images.some((i) => i.Properties.InstanceId === 'i-0123456789abcdef0'), 'the server image is made from the existing instance');
  assert.equal(Object.keys(resources('AWS::EC2::VPC')).length, 1, 'one shared network');
});

test('two AMI tests, each on a target launched from its own image', () => {
  for (const image of [stack.web, stack.server]) {
    const target = template.toJSON().Resources[logicalId(image.target.node.defaultChild as CfnElement)];
    assert.deepEqual(target.Properties.ImageId, { 'Fn::GetAtt': [logicalId(image.image.resource), 'ImageId'] });
  }
  assert.notEqual(logicalId(stack.web.test.condition), logicalId(stack.server.test.condition));
  assert.equal(Object.keys(resources('AWS::CloudFormation::WaitCondition')).length, 3, 'the web bake, and the two AMI tests');
});

test('each promotion waits for its own test, and only its own', () => {
  for (const [mine, other] of [[stack.web, stack.server], [stack.server, stack.web]] as const) {
    const promotion = template.toJSON().Resources[logicalId(mine.distribution!.resource)];
    const after = [promotion.DependsOn ?? []].flat();
    assert.ok(after.includes(logicalId(mine.test.condition)), `${mine.node.id}'s promotion waits for its test: ${after.join(', ')}`);
    assert.ok(!after.includes(logicalId(other.test.condition)), `${mine.node.id}'s promotion does not wait for the other's test`);
  }
});

test('every handler is a bundle shipped in the package, used as it is: nothing is bundled at synth', () => {
  const installed = path.dirname(require.resolve('ami-from-instance/package.json'));
  const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const shipped = new Set<string>();
  const walk = (dir: string): void => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full);
    else if (e.name === 'index.js' && dir.endsWith('.bundle')) shipped.add(sha(full));
  });
  walk(path.join(installed, 'dist'));
  assert.equal(shipped.size, 6, 'six handlers: the image\'s onEvent, isComplete and signal, the distribution\'s onEvent, isComplete and copies check');

  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf-8'));
  const ours = Object.values(resources('AWS::Lambda::Function') as Record<string, { Properties: { Handler: string; Code: { S3Key: string } } }>)
    .filter((f) => /^index\.(onEvent|isComplete|onDistributionEvent|isDistributionComplete)$/.test(f.Properties.Handler));
  assert.equal(ours.length, 8, 'two images and two distributions, an onEvent and an isComplete each');
  for (const fn of ours) {
    const asset = manifest.files[fn.Properties.Code.S3Key.replace(/\.zip$/, '')];
    const dir = path.join(outdir, asset.source.path);
    assert.deepEqual(fs.readdirSync(dir), ['index.js']);
    assert.ok(shipped.has(sha(path.join(dir, 'index.js'))), `${fn.Properties.Handler}: the bundle shipped in the package`);
  }
});
