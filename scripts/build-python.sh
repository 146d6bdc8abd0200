#!/usr/bin/env bash
# The Python package of the library (npm run package:python): jsii-pacmak generates it from the jsii assembly
# (.jsii, written by npm run package) and pip builds the wheel, offline: pacmak's own build step would fetch
# setuptools~=75.3, build and twine, so it runs with --code-only and the wheel is built without build
# isolation in a virtual environment with setuptools and wheel from pip's configured indexes. The wheel
# goes to dist-packages/python/; the check lists what a Python consumer would import.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f .jsii ]] || { echo 'no .jsii assembly: run npm run package first' >&2; exit 1; }
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1
rm -rf dist-packages/python
npx jsii-pacmak --targets python --code-only
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
# No retries: where the default index is out of reach, pip goes on to the configured extra indexes at once.
"$venv/bin/pip" install --quiet --retries 0 'setuptools>=75' wheel
"$venv/bin/pip" wheel --quiet --no-build-isolation --no-deps --wheel-dir dist-packages/python/wheel dist-packages/python
wheel=$(echo dist-packages/python/wheel/ami_from_instance-*.whl)
"$venv/bin/python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ['ami_from_instance/__init__.py', 'ami_from_instance/py.typed']
missing = [n for n in need if n not in names]
assembly = [n for n in names if n.startswith('ami_from_instance/_jsii/') and n.endswith('.jsii.tgz')]
if missing or not assembly:
    sys.exit(f'{sys.argv[1]} lacks {missing or "the jsii assembly"}')
source = zipfile.ZipFile(sys.argv[1]).read('ami_from_instance/__init__.py').decode()
classes = [c for c in ('TestedImage', 'InstanceImage', 'ImageDistribution', 'Recipe', 'BaseImage') if f'class {c}(' not in source]
if classes:
    sys.exit(f'the Python module has no class {", ".join(classes)}')
print(f'{sys.argv[1]}: {len(names)} files, the jsii assembly {assembly[0]}, classes TestedImage, InstanceImage, ImageDistribution, Recipe, BaseImage')
PY
