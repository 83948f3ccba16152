"""``make bench`` = ``.venv/bin/python -m apihub_bench``."""

import sys

from apihub_bench.run import main

if __name__ == "__main__":
    sys.exit(main())
