#!/usr/bin/env bash
# The library as it is published (npm run check:package; .ci/run runs it): built and packed, its public API
# the one api/ami-from-instance.api.md records, publint and arethetypeswrong clean, and installed from the
# tarball into a copy of examples/two-images outside this repository (so nothing of the repo's own
# node_modules, esbuild included, is in reach), whose tests synthesize two tested images with cdk-nag.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo '::: npm pack (prepack: npm run package)'
npm pack --pack-destination "$work" >/dev/null
tarball=$(echo "$work"/ami-from-instance-*.tgz)
tar -tzf "$tarball" | sed 's/^/  /' | sort | grep -c . | sed 's/^/files in the tarball: /'

echo '::: API Extractor: the public API against api/ami-from-instance.api.md (npm run api updates it)'
npx api-extractor run

echo '::: publint and arethetypeswrong on the tarball'
npx publint --strict "$tarball"
npx attw "$tarball"

echo '::: examples/two-images, installed from the registry and the tarball, outside the repo'
mkdir "$work/example"
cp -r examples/two-images/package.json examples/two-images/package-lock.json examples/two-images/tsconfig.json \
  examples/two-images/src examples/two-images/test examples/two-images/recipes "$work/example/"
cd "$work/example"
npm ci --no-audit --no-fund
npm install --no-save --no-audit --no-fund "$tarball"
npm test
