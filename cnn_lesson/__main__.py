"""`python -m cnn_lesson ...`: see `cnn_lesson.cli`."""

import sys

try:  # Ctrl-C while Python imports the command (before `main` answers it): no traceback
    from cnn_lesson.cli import main
except KeyboardInterrupt:
    print("\nInterrupted before the command started: nothing was done.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
