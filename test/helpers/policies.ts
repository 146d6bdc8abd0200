import { Template } from 'aws-cdk-lib/assertions';

/** The stack's UUID as {@link render} shows it: the third part of `AWS::StackId` split at `/`. */
export const STACK_UUID = 'Select(2,Split(/,<AWS::StackId>))';

/** The owner id of the construct at `path` (`<stack name>/<construct path>`), rendered: the path, `@`, the stack's UUID. */
export const ownerOf = (path: string) => `${path}@${STACK_UUID}`;

/** The owner id of the construct at `path`, as the template holds it. */
export function ownerToken(path: string): unknown {
  return { 'Fn::Join': ['', [`${path}@`, { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] };
}

/** A token-free rendering: Ref → <Id>, GetAtt → <Id.Attr>, Join → concatenation, Select of a Split → Select(n,Split(sep,x)). */
export function render(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(render);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return `<${o.Ref}>`;
    if ('Fn::Split' in o) {
      const [sep, source] = o['Fn::Split'] as [string, unknown];
      return `Split(${sep},${String(render(source))})`;
    }
    if ('Fn::Select' in o) {
      const [index, list] = o['Fn::Select'] as [number, unknown];
      return `Select(${index},${String(render(list))})`;
    }
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, render(v)]));
  }
  return value;
}

/** The statements of every policy attached to the role whose logical id starts with `rolePrefix`, rendered. */
export function statementsOf(template: Template, rolePrefix: string) {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => render(p.Properties.PolicyDocument.Statement) as unknown[]);
}
