import { Emulator } from '../harness/suite';

type Template = Emulator['handlers']['template'];

/** Logical ids a resource waits for: its DependsOn and every Ref / Fn::GetAtt in its properties. */
function directDependencies(template: Template, logicalId: string): Set<string> {
  const resource = template.Resources[logicalId];
  const found = new Set<string>([resource.DependsOn ?? []].flat());
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!value || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string' && inner in template.Resources) found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && inner[0] in template.Resources) found.add(String(inner[0]));
      else walk(inner);
    }
  };
  walk(resource.Properties);
  return found;
}

/** Everything `logicalId` waits for, directly or through others. */
export function waitsFor(template: Template, logicalId: string): Set<string> {
  const seen = new Set<string>();
  const stack = [logicalId];
  while (stack.length > 0) {
    for (const dependency of directDependencies(template, stack.pop()!)) {
      if (!seen.has(dependency)) {
        seen.add(dependency);
        stack.push(dependency);
      }
    }
  }
  return seen;
}

/**
 * Promotion after the test, driven by the synthesized template: CloudFormation
 * starts a resource once everything it waits for is done, so anything that does
 * not wait for the AMI test's wait condition runs while the test is still going,
 * and a failed test would find it done already.
 */
export function promotionScenarios(emu: Emulator): void {
  const ids = () => {
    const resources = Object.entries(emu.handlers.template.Resources);
    const all = (type: string, prefix = '') => resources.filter(([id, r]) => r.Type === type && id.startsWith(prefix)).map(([id]) => id);
    const one = (type: string, prefix = '') => {
      const matches = all(type, prefix);
      expect(matches).toHaveLength(1);
      return matches[0];
    };
    // With copies that may take hours (the emulator's 600 minutes), one distribution resource starts the copies
    // and the other shares: both are the promotion.
    const distributions = all('Custom::ImageDistribution');
    expect(distributions.length).toBeGreaterThanOrEqual(1);
    return {
      distributions,
      parameter: one('AWS::SSM::Parameter'),
      test: one('AWS::CloudFormation::WaitCondition', 'TestCondition'),
    };
  };

  /** Deploys the image, then everything of the promotion that does not wait for the test, then the test's outcome. */
  async function deploy(testPasses: boolean) {
    const { distributions, parameter, test } = ids();
    const early = [...distributions, parameter].filter((id) => !waitsFor(emu.handlers.template, id).has(test));
    const distributionEarly = distributions.some((id) => early.includes(id));
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    const promotion = emu.distribution();
    const promote = () => promotion.create({ ImageId: imageId, Owner: emu.props.Owner, RemovalPolicy: 'destroy', ShareWithAccounts: ['111122223333'], DeprecateAfterDays: '30', CopyToRegions: ['eu-west-1'] });
    if (distributionEarly) await promote();
    if (testPasses && !distributionEarly) await promote();
    return { early, image, promotion, promoted: promotion.physicalId !== undefined };
  }

  test('a failing AMI test shares, copies, deprecates and publishes nothing: the distribution and the parameter wait for it in the template', async () => {
    const { early, image, promotion, promoted } = await deploy(false);

    expect(early).toEqual([]);
    expect(promoted).toBe(false);
    for (const action of ['CopyImage', 'DescribeImageAttribute', 'EnableImageDeprecation']) {
      expect([action, emu.bridge.calls[action] ?? 0]).toEqual([action, 0]);
    }
    // The rollback of a first deploy deletes what was made.
    if (promoted) await promotion.delete();
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('a passing AMI test: the image is shared, copied and deprecated after it', async () => {
    const eu = emu.regionClient('eu-west-1', 'moto');
    const euBefore = await emu.idsIn(eu);
    const { image, promotion, promoted } = await deploy(true);

    expect(promoted).toBe(true);
    expect(emu.bridge.calls.CopyImage).toBe(1);
    expect(emu.bridge.calls.EnableImageDeprecation).toBe(2);
    await promotion.delete();
    await image.delete();
    expect(await emu.idsIn(eu)).toEqual(euBefore);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });
}
