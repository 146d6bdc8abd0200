import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** Properties of {@link bundledHandler}: a function's props, with its code given as a TypeScript entry file. */
export interface BundledHandlerProps extends Omit<lambda.FunctionProps, 'code' | 'handler'> {
  /** Absolute path of the TypeScript file that exports the handler. */
  readonly entry: string;

  /** Name of the exported handler function; the Lambda handler is `index.<name>`. */
  readonly handler: string;
}

/**
 * The esbuild settings of every handler: one CommonJS file for the Node.js 24
 * runtime, minified, without a source map. `@aws-sdk/*` stays external: the
 * runtime ships the SDK, and the handlers must not rely on its newest
 * parameters (see DeregisterImage in runtime/ec2.ts).
 */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  external: ['@aws-sdk/*'],
  logLevel: 'warning',
} as const;

/**
 * A Lambda function whose code is `entry` bundled. In the source tree, it is
 * bundled in this process by esbuild's JavaScript API, through aws-cdk-lib's
 * local bundling hook; in the installed package, the bundle the package build
 * made is the asset.
 *
 * Not `NodejsFunction`: it runs esbuild as `npx --no-install esbuild`, about
 * 0.36 s of npm start-up per function per synth, for about 10 ms of bundling.
 * The bundle is the asset: what the emulator tier loads from the cloud
 * assembly is what is deployed. The asset hash is the hash of the bundle
 * (`AssetHashType.OUTPUT`): it changes exactly when the deployed code does,
 * whichever imported file (here `../shared.ts`) the change was in, and is
 * stable across synths because esbuild's output is deterministic.
 *
 * When a stack is not bundled (`aws:cdk:bundling-stacks`, as in the
 * template-only tests and `cdk diff` of other stacks), aws-cdk-lib skips the
 * hook and names the asset after the construct path.
 */
export function bundledHandler(scope: Construct, id: string, props: BundledHandlerProps): lambda.Function {
  const { entry, handler, ...functionProps } = props;
  return new lambda.Function(scope, id, {
    ...functionProps,
    handler: `index.${handler}`,
    code: fs.existsSync(entry) ? bundledAtSynth(entry) : prebuiltBundle(entry),
  });
}

/**
 * Where the package build (`npm run package`) puts the bundle of `entry`: a
 * folder beside it, `<name>.bundle/`, holding only `index.js`.
 */
export function prebuiltBundleDir(entry: string): string {
  return path.join(path.dirname(entry), `${path.basename(entry, path.extname(entry))}.bundle`);
}

/**
 * The installed package: its handlers were bundled when it was built, with
 * the same settings, so a consumer installs no esbuild and bundles nothing at
 * synth. The folder holds only `index.js`, the bytes bundling at synth writes,
 * so the asset hash is the one a checkout of this project synthesizes.
 */
function prebuiltBundle(entry: string): lambda.Code {
  const dir = prebuiltBundleDir(entry);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(`handler ${entry} is neither in the source tree nor bundled in ${dir}: build the package with npm run package`);
  }
  return lambda.Code.fromAsset(dir);
}

/** The source tree: bundled in this process by esbuild (a devDependency) when the stack is synthesized. */
function bundledAtSynth(entry: string): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling always succeeds (esbuild is a dependency of the project that synthesizes).
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      // Describes the bundle, and makes the asset cache key differ per entry file (a function in `local` is not part of it).
      command: ['esbuild', path.basename(entry), '--outfile=/asset-output/index.js'],
      local: {
        tryBundle(outputDir: string): boolean {
          bundle(entry, path.join(outputDir, 'index.js'));
          return true;
        },
      },
    },
  });
}

/** Bundles `entry` into `outfile` with {@link ESBUILD_OPTIONS}: at synth, and when the package is built. */
export function bundle(entry: string, outfile: string): void {
  // Loaded on first use, so an app whose stacks are not bundled never loads esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({ ...ESBUILD_OPTIONS, external: [...ESBUILD_OPTIONS.external], entryPoints: [entry], outfile });
}
