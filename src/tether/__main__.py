"""``python -m tether`` is the ``tether`` command."""

import sys

from tether.cli.main import main

sys.exit(main())
