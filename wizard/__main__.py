"""``python -m wizard``: the same as the ``labwiz`` command."""

import sys

from wizard.cli import main

sys.exit(main())
