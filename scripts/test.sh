#!/usr/bin/env bash
# The course's test run: unit tests, the notebooks under nbval (quick mode), and the browser
# suite; not the tests marked slow (real training runs, lessons in full mode in a fresh kernel:
# about 9 minutes more), which CI runs after it with `bash scripts/test.sh -m slow`
# (pytest keeps the last -m; `-m ""` runs everything). CNN_LESSON_DATA chooses the data
# (default: the synthetic set).
set -euo pipefail
cd "$(dirname "$0")/.."
export CNN_LESSON_QUICK=1
python -m pytest tests notebooks --nbval --nbval-current-env -m "not slow" "$@"
