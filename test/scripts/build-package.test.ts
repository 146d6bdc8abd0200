/**
 * The package build bundles every handler the constructs deploy, and nothing
 * else: a handler missing from HANDLER_ENTRIES would fail an installed
 * package's synth.
 */
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { HANDLER_ENTRIES } from '../../scripts/build-package';
import { synthStack } from '../helpers/synth';

test('HANDLER_ENTRIES lists exactly the handlers a stack with every feature deploys', () => {
  // GIVEN a spy on the asset each bundled handler becomes (bundled-handler.ts passes the entry's folder and names the entry in the command)
  const spy = jest.spyOn(lambda.Code, 'fromAsset');
  try {
    // WHEN the app synthesizes with a wait condition on the image, copies with their own, sharing and a parameter
    synthStack({}, { timeoutMinutes: 600, copyToRegions: 'eu-west-1', ssmParameterName: '/images/web/latest' });
    const entries = spy.mock.calls
      .filter(([, options]) => options?.bundling?.command?.[0] === 'esbuild')
      .map(([dir, options]) => path.relative(path.join(__dirname, '..', '..', 'lib'), path.join(dir, options!.bundling!.command![1])));
    // THEN the package build bundles each of them
    expect([...new Set(entries)].sort()).toEqual([...HANDLER_ENTRIES].sort());
  } finally {
    spy.mockRestore();
  }
});
