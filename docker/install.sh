#!/bin/sh
# Install Price War Room the one way it is installed: the Docker image runs this (Dockerfile, builder stage)
# and so does tests/test_installed_wheel.py, since Docker cannot run on the CI machines.
#
#   docker/install.sh SOURCE_DIR VENV
#
# 1. builds the wheel from SOURCE_DIR in a throwaway build environment (setuptools and wheel pinned and hashed
#    in requirements-build.lock, no build isolation, so nothing unpinned is fetched);
# 2. creates VENV and installs the app's dependencies from requirements.lock: every version pinned, every file
#    checked against its hash, wheels only (no compiler needed);
# 3. installs the wheel itself, non-editable and without dependencies, then `pip check`. VENV has no pip,
#    setuptools or wheel of its own (no build tools where the app runs).
# Set PIP_NO_CACHE_DIR=1 to keep no download cache (the image does).
set -eu

# One function, read whole before it runs (editing this file during a run cannot change the run).
main() {
  src=$(cd "${1:?usage: install.sh SOURCE_DIR VENV}" && pwd)
  venv=${2:?usage: install.sh SOURCE_DIR VENV}
  python=${PYTHON:-python3}
  work=$(mktemp -d "${TMPDIR:-/tmp}/pricewar-install.XXXXXX")
  trap 'rm -rf "$work"' EXIT

  # Build in a copy of the source, so a read-only or shared tree gets no build/ or *.egg-info folders.
  mkdir "$work/src"
  (cd "$src" && tar -cf - --exclude=./.venv --exclude=./.git --exclude=./var --exclude=./build \
    --exclude=./dist --exclude='*.egg-info' --exclude='__pycache__' .) | (cd "$work/src" && tar -xf -)

  "$python" -m venv "$work/build-env"
  "$work/build-env/bin/python" -m pip install --quiet --require-hashes --only-binary=:all: \
    -r "$src/requirements-build.lock"
  "$work/build-env/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation \
    --wheel-dir "$work/dist" "$work/src"

  # The app's environment gets no pip, setuptools or wheel: the build environment's pip installs into it.
  "$python" -m venv --without-pip "$venv"
  pip="$work/build-env/bin/python -m pip --python $venv/bin/python"
  $pip install --quiet --require-hashes --only-binary=:all: -r "$src/requirements.lock"
  $pip install --quiet --no-deps --no-index "$work"/dist/pricewar-*.whl
  $pip check
  echo "installed $(basename "$work"/dist/pricewar-*.whl) into $venv"
}

main "$@"
