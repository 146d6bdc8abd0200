import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { AmiFromInstanceStackProps } from '../../lib/ami-from-instance-stack';
import { buildApp } from '../../lib/app';

/** The `context` of the app's cdk.json: `new App()` in a test does not read it. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf-8'));
  return cdkJson.context;
}

/** A new App with the app's cdk.json context (plus `context`), as `cdk synth` builds it. */
export function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...context } });
}

/** The app as `cdk synth` builds it (lib/app.ts), with the given props. */
export function synthStack(props: AmiFromInstanceStackProps = {}, context: Record<string, unknown> = {}) {
  const app = newApp(context);
  const stack = buildApp(app, props);
  return { app, stack, template: Template.fromStack(stack) };
}
