"""``python -m mnistlib`` is the ``mnistlib`` command."""

import sys

from mnistlib.cli import main

sys.exit(main())
