"""`python -m cnn_lesson ...`: see `cnn_lesson.cli`."""

import sys

from cnn_lesson.cli import main

sys.exit(main())
