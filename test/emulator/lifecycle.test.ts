/**
 * The emulator tier: the bundled handlers, driven through CloudFormation's
 * event sequences by a stand-in for the Provider framework, against moto_server
 * behind a bridge that makes it behave like EC2 (test/emulator/harness/bridge.ts).
 * After each scenario, no AMI or snapshot the handlers made may be left.
 * docs/lifecycle.md maps each scenario to the behaviour it proves.
 * lifecycle-pre3819.test.ts runs the same scenarios on an older EC2 client.
 */
import { describeEmulator, useEmulator } from './harness/suite';
import { deleteScenarios } from './scenarios/delete';
import { distributionScenarios } from './scenarios/distribution';
import { eventScenarios } from './scenarios/events';
import { existingInstanceScenarios } from './scenarios/existing-instance';
import { longCopiesScenarios, longWaitScenarios } from './scenarios/long-wait';
import { parameterScenarios } from './scenarios/parameter';
import { promotionScenarios } from './scenarios/promotion';
import { realEc2Scenarios } from './scenarios/real-ec2';
import { retentionScenarios } from './scenarios/retention';
import { stopInstanceScenarios } from './scenarios/stop-instance';

jest.setTimeout(60_000);

describeEmulator()('image lifecycle against the EC2 emulator', () => {
  const emu = useEmulator();

  test('the handlers run on the project\'s EC2 client, which asks DeregisterImage to delete the snapshots', async () => {
    const cr = emu.resource();
    await cr.create({ ...emu.props });
    await cr.delete();

    expect(Number(emu.handlers.ec2ClientVersion.split('.')[1])).toBeGreaterThanOrEqual(819);
    expect([...emu.bridge.sdkVersions].map((v) => Number(v.split('.')[1]) >= 819)).toEqual([true]);
    expect(emu.bridge.deregisterRequests).toEqual([expect.objectContaining({ DeleteAssociatedSnapshots: 'true' })]);
  });

  eventScenarios(emu);
  deleteScenarios(emu);
  distributionScenarios(emu);
  parameterScenarios(emu);
  realEc2Scenarios(emu);
  stopInstanceScenarios(emu);
  existingInstanceScenarios(emu);
  promotionScenarios(emu);
  retentionScenarios(emu);
  longWaitScenarios(emu);
  longCopiesScenarios(emu);
});
