import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, AppProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { AmiFromInstanceStackProps } from '../../lib/ami-from-instance-stack';
import { buildApp } from '../../lib/app';

/** The `context` of the app's cdk.json: `new App()` in a test does not read it. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf-8'));
  return cdkJson.context;
}

/**
 * aws-cdk-lib's context key listing the stacks whose assets are bundled; `[]`
 * bundles none. The template is the same either way, but for the asset hashes
 * (named after the construct path instead of the bundle's content).
 */
export const BUNDLING_STACKS_CONTEXT = 'aws:cdk:bundling-stacks';

/**
 * aws-cdk-lib's context keys that stop it capturing a stack trace for every
 * resource it creates (`aws:cdk:creationStack`) and every annotation. The
 * traces go only into the cloud assembly's metadata, never into a template, and
 * under Jest each one is rewritten through the source maps of every frame: a
 * sixth of a template test file's time.
 */
export const NO_STACK_TRACES_CONTEXT = {
  'aws:cdk:disable-creation-stack-traces': true,
  'aws:cdk:disable-stack-trace': true,
};

export interface TestAppOptions {
  /**
   * Run aws-cdk-lib's built-in CloudFormation template validation (a WebAssembly rule engine: in a
   * test file validating two templates, about 3 s of its main thread and 7 s of CPU with the engine's
   * compilation), as `cdk synth` does. Only the app tier (test/app.test.ts) asks for it, so the suite
   * builds the engine once; `.ci/run`'s `cdk synth` runs it on the real app.
   * cdk-nag runs either way: lib/app.ts registers it.
   * @default false
   */
  readonly validation?: boolean;
}

/**
 * A new App with the app's cdk.json context (plus `context`), as `cdk synth`
 * builds it, but without bundling the handlers: for the tests that read the
 * template. Only the tiers that load or compare bundles use {@link bundlingApp}.
 */
export function newApp(context: Record<string, unknown> = {}, options: TestAppOptions = {}): App {
  return testApp({ builtinCloudFormationValidation: options.validation ?? false, context: { [BUNDLING_STACKS_CONTEXT]: [], ...context } });
}

/** An App that bundles its handlers, as `cdk synth` does: for the determinism and emulator tiers (no template validation, see {@link TestAppOptions}). */
export function bundlingApp(props: AppProps = {}): App {
  return testApp(props);
}

/**
 * What every test app shares: cdk.json's context, no stack traces ({@link NO_STACK_TRACES_CONTEXT}),
 * no template validation unless asked for, and no construct tree (`tree.json`, for the console's tree
 * view): it holds every construct's resolved properties again (2.3 s of the 14 s the template tests
 * spent synthesizing outside the validation plugins, in a profile), and no test reads it. The
 * validation plugins (cdk-nag among them) walk the live app, not `tree.json`; templates and assets
 * are the same either way. `props` and its context come last and win.
 */
function testApp(props: AppProps): App {
  return new App({
    treeMetadata: false,
    builtinCloudFormationValidation: false,
    ...props,
    context: { ...cdkJsonContext(), ...NO_STACK_TRACES_CONTEXT, ...props.context },
  });
}

/**
 * Runs `synth` without aws-cdk-lib's "Bundling asset <path>..." line on stderr,
 * which it writes for every bundled asset and which would bury the test results.
 */
export function quietBundling<T>(synth: () => T): T {
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    (String(chunk).startsWith('Bundling asset ') ? true : (write as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest))) as typeof process.stderr.write;
  try {
    return synth();
  } finally {
    process.stderr.write = write;
  }
}

/**
 * `make`, called once per distinct key (the JSON of its argument unless `keyOf` says otherwise) and
 * its result kept: for a test file's synthesized apps, shared by the tests that only read them. A test
 * that adds constructs to an app builds its own.
 */
export function memoize<A, R>(make: (arg: A) => R, keyOf: (arg: A) => string = (arg) => JSON.stringify(arg)): (arg: A) => R {
  const made = new Map<string, R>();
  return (arg) => {
    const key = keyOf(arg);
    if (!made.has(key)) made.set(key, make(arg));
    return made.get(key)!;
  };
}

/** The app as `cdk synth` builds it (lib/app.ts), with the given props; handlers not bundled. */
export function synthStack(props: AmiFromInstanceStackProps = {}, context: Record<string, unknown> = {}) {
  const app = newApp(context);
  const stack = buildApp(app, props);
  return { app, stack, template: Template.fromStack(stack) };
}
