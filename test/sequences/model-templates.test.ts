/**
 * The model (model.ts) builds the custom resources' properties by hand; the app synthesizes them from the same choices
 * as context. Per configuration the properties the sequences play must be the template's; per ordered pair a SignalId
 * (and the wait condition named after it) must change in the templates iff it changes in the model. `npm test`: 6
 * configurations (and the emulator's template, the image's base); `npm run test:sequences` (SEQUENCE_RUNS) 18.
 */
import type { ImageResourceProperties } from '../../lib/instance-image/shared';
import { keepCount } from '../../lib/shared/runtime/retention';
import { resolveIntrinsics } from '../emulator/harness/cloudformation';
import { EMULATOR_APP_CONTEXT } from '../emulator/harness/handlers';
import { memoize, synthStack } from '../helpers/synth';
import {
  ACCOUNTS, config, Configuration, COPY_REGION, copiesStarterPropsOf, copiesWaitOf, deployment, describeConfig, distributionPropsOf, imagePropsOf, imageWaitOf,
} from './model';
import type { TemplateJson } from './templates';

type Props = Record<string, unknown>;
const without = (p: object, key: string): Props => Object.fromEntries(Object.entries(p).filter(([k]) => k !== key));
const D = deployment('model-templates');
/** The image id the distribution is given: the model's argument, the template's `Fn::GetAtt [Image, ImageId]`. */
const IMAGE_ID = 'ami-0feedc0ffee000001';

const long = { timeoutMinutes: 600, copyToRegions: [COPY_REGION] } as const;
const others = { keepPrevious: 2, shareWithAccounts: [...ACCOUNTS], removalPolicy: 'retain', stopInstance: true } as const;
/** Neighbours differ in one thing: 45→600, copies added at 600, 600→720 with copies, all the rest at 600, the content. */
const PLAYED: Configuration[] = [
  config('A'), config('A', { timeoutMinutes: 600 }), config('A', long), config('A', { ...long, timeoutMinutes: 720 }),
  config('A', { ...long, ...others }), config('B', { ...long, ...others }),
];
const MORE: Configuration[] = [
  config('B'), config('C', { timeoutMinutes: 720 }), config('A', { keepPrevious: 1 }), config('A', { shareWithAccounts: [ACCOUNTS[0]] }),
  config('A', { removalPolicy: 'retain' }), config('A', { stopInstance: true }), config('A', { copyToRegions: [COPY_REGION] }),
  config('A', { timeoutMinutes: 600, keepPrevious: 1 }), config('A', { timeoutMinutes: 600, stopInstance: true }),
  config('A', { ...long, removalPolicy: 'retain' }), config('A', { ...long, shareWithAccounts: [ACCOUNTS[1]] }), config('C', { ...long, timeoutMinutes: 720, keepPrevious: 1 }),
];
const CONFIGS = process.env.SEQUENCE_RUNS !== undefined ? [...PLAYED, ...MORE] : PLAYED;

/** The app's context for a configuration, over the emulator's (lib/config.ts reads lists as comma-separated text, '' as none). */
const contextOf = (c: Configuration): Record<string, string> => ({
  ...EMULATOR_APP_CONTEXT, rebuildToken: c.content, keepPrevious: String(c.keepPrevious), removalPolicy: c.removalPolicy,
  shareWithAccounts: c.shareWithAccounts.join(','), copyToRegions: c.copyToRegions.join(','), timeoutMinutes: String(c.timeoutMinutes),
  // readConfig refuses a copies key without copy regions.
  copyKmsKeyArn: c.copyToRegions.length > 0 ? EMULATOR_APP_CONTEXT.copyKmsKeyArn : '', keepInstancesRunning: c.stopInstance ? 'false' : 'true',
});

const synthesized = memoize((context: Record<string, string>): TemplateJson => {
  const { stack, template } = synthStack({}, context);
  // buildApp reports a bad context value as an error annotation (not a throw); without synthesizing the app again.
  const errors = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:error').map((m) => String(m.data)));
  if (errors.length > 0) throw new Error(`context ${JSON.stringify(context)} has errors: ${errors.join('; ')}`);
  return template.toJSON() as TemplateJson;
});
const templateOf = (c: Configuration) => synthesized(contextOf(c));

/** `emu.baseProps` as test/emulator/harness/suite.ts makes it from the emulator's template: the base imagePropsOf gets. */
let base: ImageResourceProperties | undefined;
const baseProps = (): ImageResourceProperties => base ??= (() => {
  const image = Object.values(synthesized(EMULATOR_APP_CONTEXT).Resources).find((r) => r.Type === 'Custom::InstanceImage')!;
  return Object.fromEntries(Object.entries(image.Properties!)
    .filter(([key]) => !['ServiceToken', 'StopInstance', 'SignalId', 'CheckRuleName', 'InstanceId'].includes(key))
    .map(([key, value]) => [key, resolveIntrinsics(value)])) as unknown as ImageResourceProperties;
})();

const idsOf = (t: TemplateJson, type: string) => Object.keys(t.Resources).filter((id) => t.Resources[id].Type === type);
const imageIdOf = (t: TemplateJson) => idsOf(t, 'Custom::InstanceImage')[0];
const starterIdOf = (t: TemplateJson) => idsOf(t, 'Custom::ImageDistribution').find((id) => t.Resources[id].Properties?.StartOnly === 'true');
const distributionIdOf = (t: TemplateJson) => idsOf(t, 'Custom::ImageDistribution').find((id) => t.Resources[id].Properties?.StartOnly !== 'true');

/**
 * A resource's properties as CloudFormation would send them to this deployment: the Owner's intrinsics resolved
 * for D's StackId, the image's `ImageId` attribute as IMAGE_ID, a Ref to a resource as `Ref:<its type>`. Without
 * ServiceToken: CloudFormation invokes it, no handler reads it (the emulator's requests carry their own).
 */
function sentProps(t: TemplateJson, id: string): Props {
  const substitute = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(substitute);
    if (!v || typeof v !== 'object') return v;
    const o = v as Props;
    const att = o['Fn::GetAtt'] as [string, string] | undefined;
    if (att && att[0] === imageIdOf(t) && att[1] === 'ImageId') return IMAGE_ID;
    if (typeof o.Ref === 'string' && t.Resources[o.Ref]) return `Ref:${t.Resources[o.Ref].Type}`;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, substitute(x)]));
  };
  return resolveIntrinsics(substitute(without(t.Resources[id].Properties!, 'ServiceToken')), D.stackId) as Props;
}

/**
 * What the handlers read alike, in one form (model and template pass through the same function):
 * - KeepPrevious: the construct omits it at 0, the model writes '0'; the handlers read it only through keepCount
 *   (lib/shared/runtime/retention.ts), absent as 0.
 * - StopInstance: the construct omits it when false, the model writes 'false'; the handlers only test `=== 'true'`
 *   (instance-image/runtime/on-event.ts, is-complete.ts).
 * - ShareWithAccounts: the construct omits an empty list, the model writes []; the handlers read `?? []`
 *   (image-distribution/runtime/copies.ts: "An empty list shares with nobody, as no list does").
 * - RebuildToken: the model namespaces it per run (`<namespace>-<content>`) so that runs make distinct images; the
 *   handlers only hash it into the image name, so any one-to-one renaming makes the same replacements.
 * - SignalId, CheckRuleName: hashed (the model's with the namespace) and named per run; here only whether they are
 *   there. Their changes between configurations are the pairs' test; the rule's name is fixed per deployment in both.
 * - DistributionLogicalId: the logical id of the distribution proper: the template's own, the emulator's 'Distribution'.
 * - ServiceTimeout: CloudFormation's own timeout for the custom resource; no handler reads it, and the model's
 *   distribution props leave it out (the image's come from the emulator's template with it).
 */
function normalized(p: Props, side: 'model' | 'template', t: TemplateJson, distribution = false): Props {
  const n: Props = { ...p, KeepPrevious: String(keepCount(p.KeepPrevious as string | undefined)) };
  if (!distribution) n.StopInstance = p.StopInstance === 'true' ? 'true' : 'false';
  if (distribution) n.ShareWithAccounts = p.ShareWithAccounts ?? [];
  if (p.RebuildToken !== undefined && side === 'model') n.RebuildToken = String(p.RebuildToken).replace(`${D.namespace}-`, '');
  for (const key of ['SignalId', 'CheckRuleName'] as const) if (key in p) n[key] = '<present>';
  if (p.DistributionLogicalId !== undefined) n.DistributionLogicalId = p.DistributionLogicalId === (side === 'model' ? 'Distribution' : distributionIdOf(t)) ? '<the distribution proper>' : p.DistributionLogicalId;
  if (distribution && side === 'template') delete n.ServiceTimeout;
  return n;
}

/** Keys whose values differ, with both values. */
function differences(what: string, model: Props, template: Props): string[] {
  return [...new Set([...Object.keys(model), ...Object.keys(template)])].sort()
    .filter((k) => JSON.stringify(model[k]) !== JSON.stringify(template[k]))
    .map((k) => `${what} ${k}: model ${JSON.stringify(model[k])}, template ${JSON.stringify(template[k])}`);
}

/** (a) The properties the model plays against the template's, per configuration. */
function configDifferences(c: Configuration, t: TemplateJson): string[] {
  const found: string[] = [];
  const image = sentProps(t, imageIdOf(t));
  // The template's InstanceId is the stack's source instance; the player gives each deployment a source of its own.
  if (image.InstanceId !== 'Ref:AWS::EC2::Instance') found.push(`Image InstanceId: template ${JSON.stringify(image.InstanceId)}, not a Ref to an instance`);
  const modelImage = without(imagePropsOf(baseProps(), D, c), 'InstanceId');
  found.push(...differences('Image', normalized(modelImage, 'model', t), normalized(without(image, 'InstanceId'), 'template', t)));
  const distribution = distributionIdOf(t);
  if (!distribution) return [...found, 'no distribution proper in the template'];
  found.push(...differences('Distribution', normalized(distributionPropsOf(D, c, IMAGE_ID) as unknown as Props, 'model', t, true),
    normalized(sentProps(t, distribution), 'template', t, true)));
  const [modelStarter, starter] = [copiesStarterPropsOf(D, c, IMAGE_ID), starterIdOf(t)];
  if (!modelStarter !== !starter) found.push(`CopiesStarted: model ${modelStarter ? 'has one' : 'has none'}, template ${starter ?? 'has none'}`);
  else if (modelStarter && starter) {
    found.push(...differences('CopiesStarted', normalized(modelStarter as unknown as Props, 'model', t, true), normalized(sentProps(t, starter), 'template', t, true)));
  }
  return found;
}

/** The template's SignalId, check rule and wait condition (and handle) of what a resource is followed by. */
function waitOf(t: TemplateJson, id: string | undefined) {
  const props = id ? t.Resources[id].Properties! : {};
  const condition = id && idsOf(t, 'AWS::CloudFormation::WaitCondition').find((w) => [t.Resources[w].DependsOn ?? []].flat().includes(id));
  const handle = condition && (t.Resources[condition].Properties!.Handle as { Ref: string }).Ref;
  return { signalId: props.SignalId as string | undefined, rule: props.CheckRuleName as string | undefined, logicalIds: condition ? `${condition}+${handle}` : undefined };
}

/** (b) For an update from `a` to `b`: what changes in the templates changes in the model, and names a new wait condition. */
function pairDifferences(a: Configuration, b: Configuration, ta: TemplateJson, tb: TemplateJson): string[] {
  const found: string[] = [];
  const waits = [['image', imageWaitOf, imageIdOf], ['copies (starter)', copiesWaitOf, starterIdOf]] as const;
  for (const [what, modelWait, idOf] of waits) {
    const [ma, mb, wa, wb] = [modelWait(D, a), modelWait(D, b), waitOf(ta, idOf(ta)), waitOf(tb, idOf(tb))];
    const [modelChanges, templateChanges] = [ma?.signalId !== mb?.signalId, wa.signalId !== wb.signalId];
    if (modelChanges !== templateChanges) {
      found.push(`${what} SignalId ${templateChanges ? 'changes' : 'stays'} in the templates (${wa.signalId} → ${wb.signalId}) but ${modelChanges ? 'changes' : 'stays'} in the model (${ma?.signalId} → ${mb?.signalId})`);
    }
    if ((wa.logicalIds !== wb.logicalIds) !== templateChanges) {
      found.push(`${what} wait condition ${wa.logicalIds} → ${wb.logicalIds} while its SignalId ${wa.signalId} → ${wb.signalId}`);
    }
    if (wa.rule && wb.rule && wa.rule !== wb.rule) found.push(`${what} check rule renamed in the templates (${wa.rule} → ${wb.rule}); the model's is one per deployment`);
  }
  return found;
}

test.each(CONFIGS.map((c) => [describeConfig(c), c] as const))('%s: the model plays the template\'s properties', (_, c) => {
  expect(configDifferences(c, templateOf(c))).toEqual([]);
});

const pairs = CONFIGS.flatMap((a) => CONFIGS.filter((b) => b !== a).map((b) => [`${describeConfig(a)} → ${describeConfig(b)}`, a, b] as const));
test.each(pairs)('%s: SignalIds and wait conditions change in the templates iff in the model', (_, a, b) => {
  expect(pairDifferences(a, b, templateOf(a), templateOf(b))).toEqual([]);
});

test('the comparisons notice: a tampered template, and a SignalId that changes where the model\'s does not', () => {
  const [plain, others600] = [PLAYED[2], PLAYED[4]];
  const tampered = JSON.parse(JSON.stringify(templateOf(plain))) as { Resources: Record<string, { Properties: Props }> };
  const image = tampered.Resources[imageIdOf(tampered as TemplateJson)].Properties;
  image.KeepPrevious = '2';
  delete image.SignalId;
  tampered.Resources[distributionIdOf(tampered as TemplateJson)!].Properties.ShareWithAccounts = [ACCOUNTS[1]];
  expect(configDifferences(plain, tampered as TemplateJson)).toEqual([
    'Image KeepPrevious: model "0", template "2"',
    'Image SignalId: model "<present>", template undefined',
    `Distribution ShareWithAccounts: model [], template ["${ACCOUNTS[1]}"]`,
  ]);
  const resigned = JSON.parse(JSON.stringify(templateOf(others600))) as { Resources: Record<string, { Properties: Props }> };
  resigned.Resources[imageIdOf(resigned as TemplateJson)].Properties.SignalId = 'feedfeedfeedfeed';
  expect(pairDifferences(plain, others600, templateOf(plain), resigned as TemplateJson)).toEqual([
    expect.stringMatching(/^image SignalId changes in the templates \(\w+ → feedfeedfeedfeed\) but stays in the model/),
    expect.stringMatching(/^image wait condition (\S+) → \1 while its SignalId/),
  ]);
});
