/**
 * TestedImage: the pipeline as a construct, several to a stack. Built the way
 * a platform team's app would: a Stack of its own, constructs from the entry
 * point, cdk-nag's AwsSolutions checks as a validation plugin.
 */
import * as path from 'node:path';
import { CfnElement, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Recipe, TestedImage } from '../../lib';
import { RESOURCE_TYPE } from '../../lib/instance-image/shared';
import { ownerOf, render } from '../helpers/policies';
import { memoize, newApp } from '../helpers/synth';

const NGINX = path.join(__dirname, '..', '..', 'recipes', 'nginx');

/** A stack with two TestedImages, `Web` (baked) and `Server` (an existing instance); with `sharedVpc`, one network for both. */
const twoImages = memoize(({ sharedVpc }: { sharedVpc: boolean }) => {
  const app = newApp();
  const stack = new Stack(app, 'Platform');
  const vpc = sharedVpc ? TestedImage.newVpc(stack, 'Network') : undefined;
  const web = new TestedImage(stack, 'Web', { vpc, recipe: Recipe.fromDirectory(NGINX), distribution: { ssmParameterName: '/images/web' } });
  const server = new TestedImage(stack, 'Server', {
    vpc,
    sourceInstanceId: 'i-0123456789abcdef0',
    recipe: Recipe.fromDirectory(NGINX, { requireBake: false }),
    image: { noReboot: true },
    distribution: { ssmParameterName: '/images/server' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // Synthesis runs cdk-nag: a finding fails it.
  return { stack, web, server, template: Template.fromStack(stack) };
}, (o) => JSON.stringify(o));

const logicalId = (stack: Stack, element: CfnElement | CustomResource) =>
  stack.resolve((element instanceof CustomResource ? element.node.defaultChild as CfnElement : element).logicalId) as string;

describe.each([true, false])('two TestedImages in one stack (shared VPC: %s)', (sharedVpc) => {
  const { stack, web, server, template } = twoImages({ sharedVpc });

  test('each has its own image, owner, name, instances, wait conditions and log group', () => {
    const images = template.findResources(RESOURCE_TYPE);
    expect(Object.keys(images)).toHaveLength(2);
    expect(web.image.legacyOwner).toBe('Platform/Web/Image');
    expect(server.image.legacyOwner).toBe('Platform/Server/Image');
    expect(render(Stack.of(web).resolve(web.image.owner))).toBe(ownerOf('Platform/Web/Image'));
    expect(render(Stack.of(server).resolve(server.image.owner))).toBe(ownerOf('Platform/Server/Image'));
    expect(new Set(Object.values(images).map((i) => i.Properties.ImageNamePrefix)).size).toBe(2);
    template.resourceCountIs('AWS::EC2::Instance', 3);
    expect(logicalId(stack, web.test.condition)).not.toBe(logicalId(stack, server.test.condition));
    expect(logicalId(stack, web.instanceLogs.node.defaultChild as CfnElement)).not.toBe(logicalId(stack, server.instanceLogs.node.defaultChild as CfnElement));
    template.resourceCountIs('AWS::EC2::VPC', sharedVpc ? 1 : 2);
  });

  test('each promotion waits for its own test and not the other\'s: a failed test promotes nothing of the other image', () => {
    const resources = template.toJSON().Resources;
    for (const [mine, other] of [[web, server], [server, web]]) {
      const dependsOn = [resources[logicalId(stack, mine.distribution!.resource)].DependsOn].flat();
      expect(dependsOn).toContain(logicalId(stack, mine.test.condition));
      expect(dependsOn).not.toContain(logicalId(stack, other.test.condition));
      expect(resources[logicalId(stack, mine.distribution!.resource)].Properties.ImageId).toEqual({ 'Fn::GetAtt': [logicalId(stack, mine.image.resource), 'ImageId'] });
    }
  });

  test('one log group for the stack\'s default-security-group provider, however many VPCs', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')).filter((g) => JSON.stringify(g.Properties.LogGroupName ?? '').includes('/aws/lambda/'));
    expect(groups).toHaveLength(1);
  });
});

test('a TestedImage with the id Default names things as the stack it sits in would: AmiFromInstanceStack keeps its logical ids', () => {
  const app = newApp();
  const stack = new Stack(app, 'S');
  const pipeline = new TestedImage(stack, 'Default', {});
  expect(render(stack.resolve(pipeline.image.owner))).toBe(ownerOf('S/Image'));
  expect(stack.resolve((pipeline.image.resource.node.defaultChild as CfnElement).logicalId)).toMatch(/^Image[0-9A-F]{8}$/);
});

describe('an existing instance without a recipe', () => {
  const app = newApp();
  const stack = new Stack(app, 'S');
  const pipeline = new TestedImage(stack, 'Server', { sourceInstanceId: 'i-0123456789abcdef0', image: { noReboot: true } });
  const template = Template.fromStack(stack);
  const userData = JSON.stringify(template.toJSON().Resources[stack.resolve((pipeline.target.node.defaultChild as CfnElement).logicalId)].Properties.UserData);

  test('is tested by the smoke test any healthy Linux image passes, not by the nginx demo\'s', () => {
    expect(userData).toContain('healthy: booted, cloud-init and systemd without failures');
    expect(userData).not.toContain('nginx');
    expect(pipeline.bake).toBeUndefined();
  });

  test('warns of no unused bake (the smoke test has none)', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('bake\\.sh and files/ are not used'))).toEqual([]);
  });
});

describe.each([['45 minutes, the waiter polls', {}], ['10 hours, a wait condition follows the image', { totalTimeout: Duration.hours(10) }]] as const)(
  'the AMI test\'s handle is created only once the image is available (%s)', (_, image) => {
    test('its pre-signed URL is not aged by the bake and the image wait', () => {
      const stack = new Stack(newApp(), 'S');
      const pipeline = new TestedImage(stack, 'Web', { image });
      const resources = Template.fromStack(stack).toJSON().Resources;
      const handle = resources[stack.resolve(pipeline.test.handle.logicalId)];
      const available = pipeline.image.available instanceof CfnElement ? pipeline.image.available : (pipeline.image.available as CustomResource).node.defaultChild as CfnElement;
      expect([handle.DependsOn].flat()).toContain(stack.resolve(available.logicalId));
    });
  });

test('waits over an hour: the image\'s own handle is created only once the bake passed, and the test\'s once the image is available', () => {
  const stack = new Stack(newApp(), 'S');
  const pipeline = new TestedImage(stack, 'Web', { image: { totalTimeout: Duration.hours(10) } });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
  const handles = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::WaitConditionHandle');
  const bakeCondition = stack.resolve(pipeline.bake!.condition.logicalId);
  const imageHandle = handles.find(([id]) => id.startsWith('WebImageAvailabilityHandle'))!;
  expect([imageHandle[1].DependsOn].flat()).toContain(bakeCondition);
  // Only the bake's own handle exists from the start: the source needs it at once.
  expect(handles.filter(([, r]) => r.DependsOn === undefined).map(([id]) => id)).toEqual([stack.resolve(pipeline.bake!.handle.logicalId)]);
});
