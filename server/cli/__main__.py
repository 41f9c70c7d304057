"""`python -m server.cli`: the `likeness` command."""

import sys

from .main import main

sys.exit(main())
