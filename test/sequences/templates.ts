/**
 * CloudFormation's update between two synthesized templates, for what the
 * emulator does not play: the instances. An instance is replaced when its
 * logical id is new or a property whose update requires replacement changed
 * (CloudFormation Template Reference, AWS::EC2::Instance; for
 * BlockDeviceMappings, anything but DeleteOnTermination), counting a value that
 * refers to a resource replaced or changed in the same update as changed. A wait
 * condition is new only under a new logical id (it cannot be updated).
 */

import { REPLACING_PROPERTIES, RESOURCE_TYPE as IMAGE_RESOURCE_TYPE } from '../../lib/instance-image/shared';

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly CreationPolicy?: unknown;
}
export interface TemplateJson { readonly Resources: Record<string, Resource> }

/** AWS::EC2::Instance properties whose change replaces the instance ("Update requires: Replacement"). */
const INSTANCE_REPLACING = [
  'AvailabilityZone', 'BlockDeviceMappings', 'CpuOptions', 'ElasticGpuSpecifications', 'ElasticInferenceAccelerators', 'EnclaveOptions',
  'HibernationOptions', 'HostResourceGroupArn', 'ImageId', 'Ipv6AddressCount', 'Ipv6Addresses', 'KeyName', 'LaunchTemplate',
  'LicenseSpecifications', 'NetworkInterfaces', 'PlacementGroupName', 'PrivateIpAddress', 'PropagateTagsToVolumeOnCreation',
  'SecurityGroups', 'SubnetId', 'Tenancy',
] as const;

/** Logical ids a value refers to (Ref, Fn::GetAtt), pseudo parameters left out. */
function referencesOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => referencesOf(v, into));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) into.add(v);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]);
      else referencesOf(v, into);
    }
  }
  return into;
}

/** BlockDeviceMappings without DeleteOnTermination, the one part that updates in place. */
function replacingPart(key: string, value: unknown): unknown {
  if (key !== 'BlockDeviceMappings' || !Array.isArray(value)) return value;
  return value.map((m: { Ebs?: Record<string, unknown> }) => (m.Ebs ? { ...m, Ebs: { ...m.Ebs, DeleteOnTermination: undefined } } : m));
}

/**
 * The resources of `after` whose value (Ref, attributes) may differ from `before`'s after the update: new ones,
 * instances replaced, an image resource whose content properties changed (a new AMI: REPLACING_PROPERTIES), any
 * other resource whose properties changed, and whatever refers to one of these in the properties that decide it.
 * Parameters are left out: an SSM-typed one may resolve anew on any update, which no template shows.
 */
export function changedResources(before: TemplateJson, after: TemplateJson): Set<string> {
  const changed = new Set<string>();
  const differs = (id: string): boolean => {
    const [old, now] = [before.Resources[id], after.Resources[id]];
    if (!old) return true;
    const keys: readonly string[] = now.Type === 'AWS::EC2::Instance' ? INSTANCE_REPLACING
      : now.Type === IMAGE_RESOURCE_TYPE ? REPLACING_PROPERTIES
        : [...new Set([...Object.keys(old.Properties ?? {}), ...Object.keys(now.Properties ?? {})])];
    return keys.some((key) => {
      const [was, is] = [old.Properties?.[key], now.Properties?.[key]];
      return JSON.stringify(replacingPart(key, was)) !== JSON.stringify(replacingPart(key, is)) || [...referencesOf(is)].some((ref) => changed.has(ref));
    });
  };
  let grew = true;
  while (grew) {
    grew = false;
    for (const id of Object.keys(after.Resources)) {
      if (!changed.has(id) && differs(id)) {
        changed.add(id);
        grew = true;
      }
    }
  }
  return changed;
}

/** The instances of `after` that the update from `before` creates or replaces. */
export function replacedInstances(before: TemplateJson, after: TemplateJson): string[] {
  const changed = changedResources(before, after);
  return Object.entries(after.Resources).filter(([id, r]) => r.Type === 'AWS::EC2::Instance' && changed.has(id)).map(([id]) => id);
}

/** The wait condition handles an instance's user data signals (Ref in its UserData). */
export function handlesOf(template: TemplateJson, instanceId: string): string[] {
  return [...referencesOf(template.Resources[instanceId].Properties?.UserData)]
    .filter((ref) => template.Resources[ref]?.Type === 'AWS::CloudFormation::WaitConditionHandle');
}

/** Every logical id `id` waits for before it is created or updated (DependsOn and references, transitively). */
export function dependenciesOf(template: TemplateJson, id: string, seen = new Set<string>()): Set<string> {
  const resource = template.Resources[id];
  if (!resource) return seen;
  const direct = [...[resource.DependsOn ?? []].flat(), ...referencesOf(resource.Properties)];
  for (const dep of direct) {
    if (seen.has(dep)) continue;
    seen.add(dep);
    dependenciesOf(template, dep, seen);
  }
  return seen;
}

/**
 * What must hold after the update from `before` to `after`: each instance it creates or replaces runs its script
 * again and is waited for (a CreationPolicy, or a handle new in `after`, whose condition is new), and the
 * distribution waits for the target's new signal: nothing untested is promoted. Returns the violations.
 */
export function instancesRunAgain(before: TemplateJson, after: TemplateJson, target: string): string[] {
  const violations: string[] = [];
  const conditionOf = (handle: string) => Object.keys(after.Resources).find((id) =>
    after.Resources[id].Type === 'AWS::CloudFormation::WaitCondition' && referencesOf(after.Resources[id].Properties).has(handle));
  for (const instance of replacedInstances(before, after)) {
    const fresh = handlesOf(after, instance).filter((h) => !before.Resources[h]);
    if (!after.Resources[instance].CreationPolicy && fresh.length === 0) {
      violations.push(`${instance} is replaced but signals only handles of before (${handlesOf(after, instance).join(', ') || 'none'}), whose conditions are complete: its script's result is never waited for`);
    }
    if (instance !== target) continue;
    const waitedFor = [...(after.Resources[instance].CreationPolicy ? [instance] : []), ...fresh.map(conditionOf).filter((c): c is string => !!c)];
    for (const [id] of Object.entries(after.Resources).filter(([, r]) => r.Type === 'Custom::ImageDistribution')) {
      const deps = dependenciesOf(after, id);
      if (!waitedFor.some((w) => deps.has(w))) violations.push(`${id} does not wait for the replaced target's test (${waitedFor.join(', ') || 'nothing to wait for'}): an untested image could be promoted`);
    }
  }
  return violations;
}
