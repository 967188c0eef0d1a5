#!/usr/bin/env bash
# The course's whole test run: unit tests, the notebooks under nbval (quick mode), and the
# browser suite. CNN_LESSON_DATA chooses the data (default: the synthetic set).
set -euo pipefail
cd "$(dirname "$0")/.."
export CNN_LESSON_QUICK=1
python -m pytest tests notebooks --nbval --nbval-current-env "$@"
