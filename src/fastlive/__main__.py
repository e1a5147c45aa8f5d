"""``python -m fastlive``: the same as the ``fastlive`` command."""

import sys

from fastlive.cli import main

sys.exit(main())
