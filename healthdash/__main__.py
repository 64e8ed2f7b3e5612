"""Entry point of `python -m healthdash`."""

import sys

from healthdash.cli import main

if __name__ == "__main__":
    sys.exit(main())
