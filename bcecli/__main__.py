"""``python -m bcecli``: the same as the ``bce`` command."""

import sys

from bcecli.cli import main

sys.exit(main())
