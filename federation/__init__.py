"""Federation: ActivityPub between instances."""

import sys

# httpx's package imports its command-line client whenever rich, pygments and click are installed
# (the generation extra installs them): about 50 ms of CPU and 5 MiB at every process's start, for
# a client no process here runs. None in sys.modules makes that import fail, which httpx expects.
sys.modules.setdefault("httpx._main", None)
