import { Writable } from 'node:stream';
import { fullDiff, formatDifferences, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { REPLACING_PROPERTIES, RESOURCE_TYPE } from '../lib/instance-image/shared';

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/**
 * The template as committed for review: asset hashes replaced by a
 * placeholder, since they change with the bundler and the CDK version while
 * the infrastructure stays the same.
 */
export function normalizeTemplate(template: unknown): Template {
  const json = JSON.stringify(template, undefined, 1)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, (_m, ext: string | undefined) => `<asset-hash>${ext ?? ''}`);
  return JSON.parse(json);
}

/** What a reviewer must not miss: the source, the image or the target being replaced. */
export function replacementWarnings(before: Template, after: Template): string[] {
  const warnings: string[] = [];
  const role = (template: Template, id: string): string => {
    const resource = template.Resources?.[id];
    if (!resource) return id;
    if (resource.Type === RESOURCE_TYPE) return `the image (${id})`;
    if (resource.Type === 'AWS::EC2::Instance') {
      return JSON.stringify(resource.Properties?.ImageId).includes('"Fn::GetAtt"') ? `the target instance (${id})` : `the source instance (${id})`;
    }
    return `${id} (${resource.Type})`;
  };
  const instances = (template: Template) => Object.entries(template.Resources ?? {})
    .filter(([, r]) => r.Type === 'AWS::EC2::Instance' || r.Type === RESOURCE_TYPE).map(([id]) => id);
  const [old, now] = [new Set(instances(before)), new Set(instances(after))];

  // A new logical id (the instances' ids carry a hash of their user data) is a replacement too.
  for (const id of old) {
    if (!now.has(id)) warnings.push(`REPLACES ${role(before, id)}: removed, a resource with another logical id takes its place`);
  }
  const diff = fullDiff(before, after);
  diff.resources.forEachDifference((id, change) => {
    if (!old.has(id) || !now.has(id)) return;
    if (change.changeImpact === ResourceImpact.WILL_REPLACE || change.changeImpact === ResourceImpact.MAY_REPLACE) {
      const properties = Object.keys(change.propertyUpdates).filter((p) => change.propertyUpdates[p].changeImpact !== ResourceImpact.WILL_UPDATE);
      const verb = change.changeImpact === ResourceImpact.WILL_REPLACE ? 'REPLACES' : 'MAY REPLACE';
      warnings.push(`${verb} ${role(after, id)}: ${properties.join(', ') || 'replacement'} changed`);
    }
    if (change.newResourceType === RESOURCE_TYPE) {
      // CloudFormation only sends an Update; the handler makes a new AMI when one of these changes.
      const changed = REPLACING_PROPERTIES.filter((p) => change.propertyUpdates[p]);
      if (changed.length > 0) warnings.push(`NEW AMI from ${role(after, id)}: ${changed.join(', ')} changed, so the handler makes a new image and the old one is deleted`);
    }
  });
  return warnings;
}

/**
 * `cdk diff`'s readable report (resources added, removed, replaced; property
 * and IAM changes), without colours, of the normalized templates; '' when
 * they do not differ.
 */
export function renderDiff(beforeTemplate: unknown, afterTemplate: unknown): string {
  const [before, after] = [normalizeTemplate(beforeTemplate), normalizeTemplate(afterTemplate)];
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  const diff = fullDiff(before, after);
  if (diff.isEmpty) return '';
  formatDifferences(sink, diff);
   
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  const warnings = replacementWarnings(before, after);
  return [...warnings.map((w) => `>>> ${w}`), ...(warnings.length > 0 ? [''] : []), plain.trimEnd()].join('\n');
}
