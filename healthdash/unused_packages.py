"""Optional packages that libraries import as soon as they are installed, and that a healthdash command never uses.

pandas imports pyarrow whenever it is installed (it is, with the `lab` extra and in the conda environment, for the
analysts' Parquet export): 80 MB of resident memory in the server, for string columns it does not need. jsonschema,
which Jupyter's event logging imports, imports rfc3987-syntax to check one string format, building a grammar that
takes the server a second to start and 25 MB of memory. The commands' process finds neither, as if they were not
installed, and each library works as without them. JupyterLab's kernels and the pages' kernels are other processes
and keep them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

UNUSED = ("pyarrow", "rfc3987_syntax")


class _NotHere:
    """An import finder, first in line, that finds the unused packages nowhere (ModuleNotFoundError, as when a
    package is not installed); every other import goes on to Python's own finders."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (left out of this process)", name=name)
        return None


def leave_out_unused() -> list[str]:
    """Make the unused packages not found from now on; return those left out.

    A package already imported is left as it is: it is in use.
    """
    names = [name for name in UNUSED if name not in sys.modules]
    if names and not any(isinstance(finder, _NotHere) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NotHere(names))
    return names
