// @ts-check
/**
 * Stryker ignorers.
 *
 * `LogMessages`: mutants inside a call of the handlers' logger (`log.info(…)`,
 * `log.warn(…)`, `log.error(…)`, `log.debug(…)`, `appendKeys(…)`) are not made. What
 * such a call writes is a CloudWatch Logs line for a person, never read by code or
 * by CloudFormation, so a mutant there changes no behaviour a test could assert
 * short of pinning every log line's wording. Messages that reach CloudFormation
 * (thrown errors, wait-condition reasons) are not covered by this rule. For the
 * same reason a block whose only statements are such calls is not emptied: the
 * mutant would only drop the line.
 *
 * `EquivalentMutants`: single nodes whose every mutant no input can tell from the
 * original, each named by its file, its node's type and source, and its parent's
 * source (not by line, which moves with every edit), with the reason. A mutant at
 * such a node that is only partly equivalent is not listed here: it stays a
 * survivor, and the report names it.
 */
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const LOG_METHODS = new Set(['info', 'warn', 'error', 'debug']);

/** @param {import('@babel/types').Node} node */
function isLogCall(node) {
  if (node.type !== 'CallExpression') return false;
  const callee = node.callee;
  const logCall = callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'log'
    && callee.property.type === 'Identifier' && LOG_METHODS.has(callee.property.name);
  const keys = callee.type === 'Identifier' && callee.name === 'appendKeys';
  return logCall || keys;
}

/**
 * Each entry: the file, the node's type and source, and its parent's source (or the start of it), whitespace
 * collapsed; every node of the file that matches is ignored.
 * @type {ReadonlyArray<{ file: string; type: string; source: string; parent: string; reason: string }>}
 */
export const EQUIVALENT_MUTANTS = [
  {
    file: 'lib/shared/runtime/ec2.ts',
    type: 'ArrayExpression',
    source: '[]',
    parent: 'image.BlockDeviceMappings ?? []',
    reason: 'snapshotIdsOf: the fallback for an image without mappings; a non-empty array of strings instead maps each'
      + ' to `undefined` (a string has no `Ebs`), which the next filter drops: [] either way',
  },
  {
    file: 'lib/shared/runtime/ec2.ts',
    type: 'ArrayExpression',
    source: '[]',
    parent: 'users ?? []',
    reason: 'deleteSnapshotsOfImage: the fallback when DescribeImages lists no user; a string in its place is not'
      + ' gone and has no BlockDeviceMappings, so it adds no snapshot id to inUse: the same empty set',
  },
  {
    file: 'lib/shared/runtime/ec2.ts',
    type: 'StringLiteral',
    source: "''",
    parent: "image.CreationDate ?? ''",
    reason: 'newestFirst: the date of an image without CreationDate; any other text that is not a date (the mutant'
      + ' is "Stryker was here!") parses to NaN as well, and NaN || 0 is 0',
  },
  {
    file: 'lib/shared/runtime/wait-condition.ts',
    type: 'StringLiteral',
    source: "'0'",
    parent: "s.Progress ?? '0'",
    reason: 'logProgress: the progress of a snapshot without one; the mutant\'s empty string parses to NaN, and'
      + ' NaN || 0 is 0, the same percentage',
  },
  {
    file: 'lib/instance-image/runtime/image-name.ts',
    type: 'BinaryExpression',
    source: 'a > b',
    parent: 'a > b ? 1 : 0',
    reason: 'canonical: the sort comparator\'s second test, reached only when !(a < b); object keys are distinct, so'
      + ' a > b always holds there (`true`, `>=`, `<=` give the same 1), and V8\'s TimSort reads only `order < 0`,'
      + ' so `false` (0 instead of 1) sorts alike too: checked over shuffled sets of 200 keys',
  },
  {
    file: 'lib/instance-image/runtime/signal.ts',
    type: 'UpdateExpression',
    source: 'pending++',
    parent: 'pending++;',
    reason: 'onImageEvent: pending is only compared with 0, and counting down from 0 reaches 0 exactly when'
      + ' counting up does (never, once one image is pending)',
  },
  {
    file: 'lib/image-distribution/runtime/copies-check.ts',
    type: 'UpdateExpression',
    source: 'pending++',
    parent: 'pending++;',
    reason: 'onCopiesCheck (both counts): pending is only compared with 0, and counting down from 0 reaches 0'
      + ' exactly when counting up does',
  },
  {
    file: 'lib/image-distribution/runtime/copies-check.ts',
    type: 'BlockStatement',
    source: '{ continue; }',
    parent: "if (copy.State === 'available')",
    reason: 'onCopiesCheck: `continue` is the last thing the loop body would do for an available copy anyway'
      + ' (no else branch runs after it), so the emptied block changes nothing',
  },
];

/** @param {string} text */
const collapse = (text) => text.replace(/\s+/g, ' ').trim();

/** @param {import('@babel/core').NodePath} path */
function fileOf(path) {
  const name = /** @type {{ file?: { opts?: { filename?: string } } } | undefined} */ (path.hub)?.file?.opts?.filename ?? '';
  return name.replace(/\\/g, '/');
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'LogMessages', {
    /** @param {import('@babel/core').NodePath} path */
    shouldIgnore(path) {
      if (isLogCall(path.node)) return 'a log line for a person: its wording and fields are not behaviour';
      if (path.isBlockStatement() && path.node.body.length > 0
        && path.node.body.every((s) => s.type === 'ExpressionStatement' && isLogCall(s.expression))) {
        return 'a block that only writes log lines: emptying it drops a line for a person, no behaviour';
      }
      return undefined;
    },
  }),
  declareValuePlugin(PluginKind.Ignore, 'EquivalentMutants', {
    /** @param {import('@babel/core').NodePath} path */
    shouldIgnore(path) {
      if (!path.parentPath) return undefined;
      const entry = EQUIVALENT_MUTANTS.find((e) => e.type === path.node.type && fileOf(path).endsWith(e.file)
        && collapse(path.getSource()) === e.source && collapse(path.parentPath?.getSource() ?? '').startsWith(e.parent));
      return entry ? `equivalent: ${entry.reason}` : undefined;
    },
  }),
];
