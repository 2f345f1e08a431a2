#!/bin/sh
# Run cloudpickle's own test suite against brined.cloud.
#
#   tests/cloudpickle_suite/run.sh /path/to/cloudpickle-checkout [pytest args...]
#
# The checkout (e.g. of tag v3.1.2) is only read: its tests/ folder is copied to a
# temporary directory next to a shim package named `cloudpickle` that re-exports
# brined.cloud, so `import cloudpickle` (also in the suite's subprocesses) gets
# brined.cloud.  Nothing is fetched.  PYTHON selects the interpreter (default:
# this repository's .venv, else python).  classify.py then prints the counts:
# tests reaching into cloudpickle.cloudpickle's private helpers are not counted.
set -eu
if [ $# -lt 1 ] || [ ! -d "$1/tests" ]; then
    echo "usage: $0 CLOUDPICKLE_CHECKOUT [pytest args...]" >&2
    exit 2
fi
checkout=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python; fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/brined-cp-suite.XXXXXX")
cp -r "$checkout/tests" "$work/tests"
cp -r "$here/shim/cloudpickle" "$work/cloudpickle"
cd "$work"
set +e
PYTHONPATH="$work:$work/tests/cloudpickle_testpkg${PYTHONPATH:+:$PYTHONPATH}" \
    "$python" -m pytest -p no:cacheprovider -q -o addopts="" --timeout 300 \
    --junitxml="$work/junit.xml" \
    tests/cloudpickle_test.py tests/cloudpickle_file_test.py tests/test_backward_compat.py "$@"
status=$?
set -e
"$python" "$here/classify.py" "$work/junit.xml" "$work/tests"
echo "work directory: $work"
exit $status
