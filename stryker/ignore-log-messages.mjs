// @ts-check
/**
 * A Stryker ignorer: mutants inside a call of the handlers' logger (`log.info(…)`,
 * `log.warn(…)`, `log.error(…)`, `log.debug(…)`, `appendKeys(…)`) are not made. What
 * such a call writes is a CloudWatch Logs line for a person, never read by code or
 * by CloudFormation, so a mutant there changes no behaviour a test could assert
 * short of pinning every log line's wording. Messages that reach CloudFormation
 * (thrown errors, wait-condition reasons) are not covered by this rule.
 */
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const LOG_METHODS = new Set(['info', 'warn', 'error', 'debug']);

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'LogMessages', {
    /** @param {import('@babel/core').NodePath} path */
    shouldIgnore(path) {
      if (!path.isCallExpression()) return undefined;
      const callee = path.node.callee;
      const logCall = callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'log'
        && callee.property.type === 'Identifier' && LOG_METHODS.has(callee.property.name);
      const keys = callee.type === 'Identifier' && callee.name === 'appendKeys';
      return logCall || keys ? 'a log line for a person: its wording and fields are not behaviour' : undefined;
    },
  }),
];
