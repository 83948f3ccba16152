"""``make run`` = ``.venv/bin/python -m apihub_local``: the local stack in the foreground."""

import sys

from apihub_local.stack import main

if __name__ == "__main__":
    sys.exit(main())
