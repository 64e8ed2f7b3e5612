"""Entry point of `python -m healthdash` and of the `healthdash` command."""

import sys

from healthdash.unused_packages import leave_out_unused

leave_out_unused()  # before the command's imports: pandas and Jupyter would import them

from healthdash.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
