/**
 * The instances' user data as the instances would run it: read from a
 * synthesized template, with CloudFormation's values (the wait condition
 * handle's URL, the log group, the region) filled in by stand-ins.
 *
 *   npx tsx scripts/render-user-data.ts OUT_DIR [-c key=value ...]
 *
 * writes one `<logical id>.sh` per instance (what `.ci/run` gives shellcheck).
 */
/* eslint-disable no-console */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';

/** Values CloudFormation would give the references in the user data. */
export interface RenderValues {
  /** The URL each wait condition handle resolves to, by the handle's logical id; any other handle gets `http://signal.invalid/<id>`. */
  readonly handles?: Record<string, string>;
  readonly logGroup?: string;
  readonly region?: string;
  readonly stackName?: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Every instance's user data in `template`, rendered, by logical id. */
export function renderUserData(template: Record<string, unknown>, values: RenderValues = {}): Record<string, string> {
  const resources = (template as { Resources: Record<string, { Type: string; Properties?: Record<string, Json> }> }).Resources;
  const resolve = (value: Json): string => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value) || value === null || typeof value !== 'object') throw new Error(`cannot render ${JSON.stringify(value)}`);
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(resolve).join(sep);
    }
    if ('Ref' in value) {
      const ref = value.Ref as string;
      if (ref === 'AWS::Region') return values.region ?? 'us-east-1';
      if (ref === 'AWS::StackName') return values.stackName ?? 'AmiFromInstanceStack';
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      const type = resources[ref]?.Type;
      if (type === 'AWS::CloudFormation::WaitConditionHandle') return values.handles?.[ref] ?? `http://signal.invalid/${ref}`;
      if (type === 'AWS::Logs::LogGroup') return values.logGroup ?? 'AmiFromInstanceStack-InstanceLogs';
      throw new Error(`cannot render a Ref to ${ref} (${type})`);
    }
    throw new Error(`cannot render ${JSON.stringify(value)}`);
  };
  const scripts: Record<string, string> = {};
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::EC2::Instance') continue;
    const userData = resource.Properties?.UserData as { 'Fn::Base64': Json } | undefined;
    if (userData) scripts[id] = resolve(userData['Fn::Base64']);
  }
  return scripts;
}

if (require.main === module) {
  const [outDir, ...rest] = process.argv.slice(2);
  if (!outDir) {
    console.error('usage: tsx scripts/render-user-data.ts OUT_DIR [-c key=value ...]');
    process.exit(2);
  }
  const context: Record<string, string> = { 'aws:cdk:bundling-stacks': [] as unknown as string };
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '-c') {
      const [key, ...value] = rest[++i].split('=');
      context[key] = value.join('=');
    }
  }
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf-8'));
  const app = new App({ context: { ...cdkJson.context, ...context } });
  const stack = buildApp(app);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [id, script] of Object.entries(renderUserData(Template.fromStack(stack).toJSON()))) {
    fs.writeFileSync(path.join(outDir, `${id}.sh`), script);
    console.log(path.join(outDir, `${id}.sh`));
  }
}
