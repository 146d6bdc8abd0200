import { Template } from 'aws-cdk-lib/assertions';

/** A token-free rendering: Ref → <Id>, GetAtt → <Id.Attr>, Join → concatenation. */
export function render(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(render);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return `<${o.Ref}>`;
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
