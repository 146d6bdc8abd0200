/**
 * The emulator tier again, with the same bundles loading
 * `@aws-sdk/client-ec2` 3.817.0 (the npm alias `@aws-sdk/client-ec2-pre3819`):
 * a Lambda runtime whose SDK predates DeregisterImage's
 * `DeleteAssociatedSnapshots` drops the parameter, so EC2 deletes no snapshot
 * and every scenario's "nothing left" rests on the handlers' own deletion.
 *
 * `npm run test:pre3819` runs it (CI does, after `npm test`), and so does
 * `npm run test:emulator`; `npm test` leaves it out (jest.config.js).
 */
import { describeEmulator, useEmulator } from './harness/suite';
import { deleteScenarios } from './scenarios/delete';
import { distributionScenarios } from './scenarios/distribution';
import { eventScenarios } from './scenarios/events';
import { existingInstanceScenarios } from './scenarios/existing-instance';
import { longCopiesScenarios, longWaitScenarios } from './scenarios/long-wait';
import { promotionScenarios } from './scenarios/promotion';
import { realEc2Scenarios } from './scenarios/real-ec2';
import { retentionScenarios } from './scenarios/retention';
import { stopInstanceScenarios } from './scenarios/stop-instance';

jest.setTimeout(60_000);

describeEmulator()('image lifecycle against the EC2 emulator, with an EC2 client older than 3.819', () => {
  const emu = useEmulator({ ec2Client: '@aws-sdk/client-ec2-pre3819' });

  test('the handlers really run on @aws-sdk/client-ec2 3.817.0, and DeregisterImage goes out without DeleteAssociatedSnapshots', async () => {
    expect(emu.handlers.ec2ClientVersion).toBe('3.817.0');
    const cr = emu.resource();
    await cr.create({ ...emu.props });
    await cr.delete();

    // The user agent carries the SDK's version: every call came from the old client.
    expect([...emu.bridge.sdkVersions].map((v) => Number(v.split('.')[1]) < 819)).toEqual([true]);
    expect(emu.bridge.deregisterRequests).toHaveLength(1);
    expect(emu.bridge.deregisterRequests[0]).not.toHaveProperty('DeleteAssociatedSnapshots');
    expect(emu.bridge.calls.DeleteSnapshot).toBeGreaterThan(0);
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  deleteScenarios(emu);
  distributionScenarios(emu);
  retentionScenarios(emu);
  eventScenarios(emu);
  realEc2Scenarios(emu);
  stopInstanceScenarios(emu);
  existingInstanceScenarios(emu);
  promotionScenarios(emu);
  longWaitScenarios(emu);
  longCopiesScenarios(emu);
});
