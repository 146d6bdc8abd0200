#!/usr/bin/env bash
# The library as it is published (npm run check:package; .ci/run runs it): built by jsii and packed with its
# assembly, its Python package built from that assembly, its public API
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
contents=$(tar -tzf "$tarball")
echo "files in the tarball: $(wc -l <<<"$contents")"
grep -qx 'package/.jsii' <<<"$contents" || { echo 'the tarball has no jsii assembly (.jsii)' >&2; exit 1; }

echo '::: the Python package, generated from the jsii assembly'
bash scripts/build-python.sh

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
