import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ENV_PARAMETER_ACCEPT_SECONDS, PARAMETER_CHECK_RESOURCE_TYPE } from '../../../lib/image-distribution/shared';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from '../harness/bridge';
import { CustomResource, ProviderFramework } from '../harness/cloudformation';
import { EMULATOR_APP_CONTEXT } from '../harness/handlers';
import { Emulator, MAX_POLLS } from '../harness/suite';

const NAME = EMULATOR_APP_CONTEXT.ssmParameterName;

/**
 * The `Custom::ImageParameterCheck` that follows the `aws:ec2:image` parameter:
 * SSM validates such a value after PutParameter answered, and leaves the
 * parameter unchanged when it refuses it. The parameter lives in moto's SSM,
 * written by the test as CloudFormation would; the check runs on the
 * distribution's bundled handlers.
 */
export function parameterScenarios(emu: Emulator): void {
  describe('the aws:ec2:image parameter check', () => parameterCheckScenarios(emu));
}

function parameterCheckScenarios(emu: Emulator): void {
  let ssm: SSMClient;

  beforeEach(() => {
    ssm = new SSMClient({ region: EMULATOR_REGION, endpoint: emu.moto.endpoint, credentials: EMULATOR_CREDENTIALS });
  });

  afterEach(async () => {
    delete process.env[ENV_PARAMETER_ACCEPT_SECONDS];
    await ssm.send(new DeleteParameterCommand({ Name: NAME })).catch(() => undefined);
    ssm.destroy();
  });

  /** What CloudFormation's PutParameter leaves once SSM accepted (or refused) the value. */
  const putParameter = (value: string) =>
    ssm.send(new PutParameterCommand({ Name: NAME, Value: value, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true }));
  const parameterValue = async () => (await ssm.send(new GetParameterCommand({ Name: NAME }))).Parameter?.Value;
  const check = (onPoll?: (poll: number) => void | Promise<void>) =>
    new CustomResource(new ProviderFramework(emu.handlers.distribution, MAX_POLLS, onPoll), 'ParameterCheck', emu.records, PARAMETER_CHECK_RESOURCE_TYPE);
  /** An AMI id older than the image: moto's Amazon image the instance was launched from. */
  const olderImageId = async () =>
    (await emu.direct.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'root-device-type', Values: ['ebs'] }] }))).Images![0].ImageId!;

  test('the synthesized check names the parameter and the distribution\'s image id, and waits for the parameter', () => {
    const resources = emu.handlers.template.Resources;
    const [checkId] = Object.entries(resources).filter(([, r]) => r.Type === PARAMETER_CHECK_RESOURCE_TYPE).map(([id]) => id);
    const [parameterId] = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SSM::Parameter').map(([id]) => id);
    expect(resources[checkId].Properties).toMatchObject({ ParameterName: NAME, ImageId: { 'Fn::GetAtt': [expect.any(String), 'ImageId'] } });
    expect([resources[checkId].DependsOn].flat()).toContain(parameterId);
  });

  test('the parameter holds the promoted image id: SUCCESS at the first poll; Delete leaves the parameter to CloudFormation', async () => {
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    await putParameter(imageId);
    const cr = check();

    await expect(cr.create({ ParameterName: NAME, ImageId: imageId })).resolves.toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: NAME, polls: 1 });

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: NAME });
    expect(await parameterValue()).toBe(imageId);
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('SSM accepts the value while the check polls: not complete until GetParameter returns the image id', async () => {
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    await putParameter(await olderImageId());
    const cr = check(async (poll) => {
      if (poll === 3) await putParameter(imageId);
    });

    await expect(cr.create({ ParameterName: NAME, ImageId: imageId })).resolves.toMatchObject({ Status: 'SUCCESS', polls: 3 });

    await cr.delete();
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('validation failed, the parameter keeps an older image id: FAILED after the bound, naming both values; the rollback\'s Delete succeeds', async () => {
    process.env[ENV_PARAMETER_ACCEPT_SECONDS] = '1';
    const image = emu.resource();
    const { PhysicalResourceId: imageId } = await image.create({ ...emu.props });
    const older = await olderImageId();
    await putParameter(older);
    // Polls 400 ms apart (the framework's queryInterval, scaled down): the bound of 1 s passes at the third or fourth.
    const cr = check(async (poll) => {
      if (poll > 1) await new Promise((resolve) => setTimeout(resolve, 400));
    });

    const failed = await cr.create({ ParameterName: NAME, ImageId: imageId });

    expect(failed).toMatchObject({ Status: 'FAILED', PhysicalResourceId: NAME });
    expect(failed.polls).toBeGreaterThan(1);
    expect(failed.Reason).toBe(`SSM did not accept the image id ${imageId} for the aws:ec2:image parameter ${NAME}: ` +
      `1 seconds after CloudFormation wrote it, the parameter still holds ${older}. ` +
      'SSM validates an aws:ec2:image value asynchronously and leaves the parameter unchanged when the AMI is invalid or not available to this account');
    expect(emu.logs.some((line) => line.includes('parameter does not hold the image id yet'))).toBe(true);

    await expect(cr.delete()).resolves.toMatchObject({ Status: 'SUCCESS' });
    expect(await parameterValue()).toBe(older);
    await image.delete();
    expect(await emu.leftovers()).toEqual({ images: [], snapshots: [] });
  });

  test('the parameter was never created: FAILED after the bound, saying it does not exist', async () => {
    process.env[ENV_PARAMETER_ACCEPT_SECONDS] = '0';
    const cr = check(async () => { await new Promise((resolve) => setTimeout(resolve, 20)); });

    const failed = await cr.create({ ParameterName: NAME, ImageId: 'ami-0123456789abcdef0' });

    expect(failed).toMatchObject({ Status: 'FAILED', polls: 1 });
    expect(failed.Reason).toMatch(/^SSM did not accept the image id ami-0123456789abcdef0 for the aws:ec2:image parameter .*: 0 seconds after CloudFormation wrote it, the parameter does not exist\./);
  });
}
