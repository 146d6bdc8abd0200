import { IConstruct } from 'constructs';

/** The construct id that CDK leaves out of logical ids and unique names. */
const HIDDEN_ID = 'Default';

/**
 * A construct's path as it names things in the template (owner tags,
 * descriptions): its `node.path` without `Default` ids, the same rule CDK
 * applies to logical ids and unique names. A stack that wraps its pipeline in
 * a construct with the id `Default` so keeps every name it had before.
 */
export function templatePath(construct: IConstruct): string {
  return construct.node.path.split('/').filter((id) => id !== HIDDEN_ID).join('/');
}
