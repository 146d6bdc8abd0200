import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AmiFromInstanceStack, AmiFromInstanceStackProps } from '../../lib/ami-from-instance-stack';

/** The `context` of the app's cdk.json: `new App()` in a test does not read it. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf-8'));
  return cdkJson.context;
}

/** A new App with the app's cdk.json context (plus `context`), as `cdk synth` builds it. */
export function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...context } });
}

export function synthStack(props: AmiFromInstanceStackProps = {}, context: Record<string, unknown> = {}) {
  const app = newApp(context);
  const stack = new AmiFromInstanceStack(app, 'AmiFromInstanceStack', props);
  return { app, stack, template: Template.fromStack(stack) };
}

/**
 * The template with what changes for reasons other than the app's own code
 * replaced by placeholders: asset hashes (they change with the bundler and the
 * CDK version) and the bootstrap version rule.
 */
export function normalizedTemplate(template: Template): unknown {
  const json = JSON.stringify(template.toJSON(), undefined, 1)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, (_m, ext: string | undefined) => `<asset-hash>${ext ?? ''}`);
  return JSON.parse(json);
}
