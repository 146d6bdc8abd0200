import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildApp } from '../../../lib/app';
import { ENV_NOT_FOUND_GRACE_SECONDS, RESOURCE_TYPE } from '../../../lib/instance-image/shared';
import { bundlingApp, quietBundling } from '../../helpers/synth';

type Handler = (event: object) => Promise<Record<string, unknown>>;

/** The two functions of one Provider framework. */
export interface HandlerPair {
  readonly onEvent: Handler;
  readonly isComplete: Handler;
}

/**
 * The app's distribution options while the emulator synthesizes it, so that
 * the assembly holds the distribution's bundles too (the key ARN is never
 * called: the handlers make no KMS call).
 */
export const EMULATOR_APP_CONTEXT = {
  // Over 55 minutes: the assembly holds the signal function of waits over an hour (the scenarios take
  // the image's properties without SignalId, and set it where they test those waits).
  timeoutMinutes: '600',
  shareWithAccounts: '111122223333',
  copyToRegions: 'eu-west-1',
  copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef',
  ssmParameterName: '/images/emulator/latest',
  volumeKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
};

export interface BundledHandlers extends HandlerPair {
  /** The distribution's handlers (lib/image-distribution). */
  readonly distribution: HandlerPair;
  /** The signal function of waits over an hour (runtime/signal.ts). */
  readonly onImageEvent: Handler;
  /** The copies check of waits over an hour (lib/image-distribution/runtime/copies-check.ts). */
  readonly onCopiesCheck: Handler;
  /** Properties of the app's Custom::InstanceImage, as synthesized (InstanceId is a Ref there). */
  readonly templateProperties: Record<string, unknown>;
  /** The synthesized template. */
  readonly template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] }> };
  /** The bundled files, for size measurements. */
  readonly files: {
    readonly onEvent: string;
    readonly isComplete: string;
    readonly onDistributionEvent: string;
    readonly isDistributionComplete: string;
    readonly onImageEvent: string;
    readonly onCopiesCheck: string;
  };
  /** Version of the `@aws-sdk/client-ec2` the bundles load. */
  readonly ec2ClientVersion: string;
  /** Removes the cloud assembly. */
  dispose(): void;
}

const REPO_ROOT = path.join(__dirname, '..', '..', '..');

export interface LoadOptions {
  /**
   * An installed package (an npm alias such as `@aws-sdk/client-ec2-pre3819`)
   * that the bundles load as `@aws-sdk/client-ec2`, as a Lambda runtime with
   * that SDK would provide it: the same bundles, another client.
   * @default - the project's `@aws-sdk/client-ec2`
   */
  readonly ec2Client?: string;
}

/**
 * Synthesizes the app and loads the handler bundles from the cloud assembly:
 * the code that would be deployed, not the TypeScript sources. The assembly is
 * written inside the repository (`cdk.out.emulator-*`, git-ignored) so the
 * bundles' external `@aws-sdk/*` imports resolve from its node_modules, as the
 * Lambda runtime provides them.
 *
 * The EC2 endpoint, region and credentials must be in `process.env` before
 * this is called: the handlers make their EC2 client when loaded.
 */
export function loadBundledHandlers(env: Record<string, string>, options: LoadOptions = {}): BundledHandlers {
  const outdir = fs.mkdtempSync(path.join(REPO_ROOT, 'cdk.out.emulator-'));
  const app = bundlingApp({ outdir, context: EMULATOR_APP_CONTEXT });
  const assembly = quietBundling(() => {
    buildApp(app);
    return app.synth();
  });
  const stack = assembly.stacks[0];
  const resources = stack.template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;

  // A function's code is the asset whose hash names its S3 key; the assembly holds it as `asset.<hash>/`.
  const bundle = (handler: string): string => {
    const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === handler);
    const key = (fn?.Properties.Code as { S3Key?: string } | undefined)?.S3Key;
    const file = key && path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.js');
    if (!file || !fs.existsSync(file)) {
      fs.rmSync(outdir, { recursive: true, force: true });
      throw new Error(`no bundled function with handler ${handler} in the cloud assembly`);
    }
    return file;
  };
  const files = {
    onEvent: bundle('index.onEvent'),
    isComplete: bundle('index.isComplete'),
    onDistributionEvent: bundle('index.onDistributionEvent'),
    isDistributionComplete: bundle('index.isDistributionComplete'),
    onImageEvent: bundle('index.onImageEvent'),
    onCopiesCheck: bundle('index.onCopiesCheck'),
  };
  if (options.ec2Client) {
    // Node resolves `@aws-sdk/client-ec2` from the bundle's folder upwards: a node_modules beside the bundle comes first.
    for (const file of Object.values(files)) {
      const link = path.join(path.dirname(file), 'node_modules', '@aws-sdk', 'client-ec2');
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', ...options.ec2Client.split('/')), link, 'dir');
    }
  }
  const clientPackage = require.resolve('@aws-sdk/client-ec2/package.json', { paths: [path.dirname(files.onEvent)] });
  const ec2ClientVersion = (JSON.parse(fs.readFileSync(clientPackage, 'utf-8')) as { version: string }).version;
  const image = Object.values(resources).find((r) => r.Type === RESOURCE_TYPE)!;

  Object.assign(process.env, { [ENV_NOT_FOUND_GRACE_SECONDS]: '300' }, env);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const onEventModule = require(files.onEvent) as { onEvent: Handler };
  const isCompleteModule = require(files.isComplete) as { isComplete: Handler };
  const onDistributionModule = require(files.onDistributionEvent) as { onDistributionEvent: Handler };
  const isDistributionModule = require(files.isDistributionComplete) as { isDistributionComplete: Handler };
  const signalModule = require(files.onImageEvent) as { onImageEvent: Handler };
  const copiesCheckModule = require(files.onCopiesCheck) as { onCopiesCheck: Handler };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    onEvent: onEventModule.onEvent,
    isComplete: isCompleteModule.isComplete,
    distribution: { onEvent: onDistributionModule.onDistributionEvent, isComplete: isDistributionModule.isDistributionComplete },
    onImageEvent: signalModule.onImageEvent,
    onCopiesCheck: copiesCheckModule.onCopiesCheck,
    templateProperties: image.Properties,
    template: stack.template as BundledHandlers['template'],
    files,
    ec2ClientVersion,
    dispose: () => fs.rmSync(outdir, { recursive: true, force: true }),
  };
}
