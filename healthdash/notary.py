"""The pages' notebooks are the app's own code: trusted as such, with no signature store on the user's disk.

Jupyter signs a notebook so that HTML and JavaScript in its *saved* outputs are shown only if the user made them.
Voila never shows saved outputs: it runs each page notebook afresh and shows what that run displays. A signature
check therefore protects nothing here; without this notary it only logged "Notebook … is not trusted" for every
page at every start, and wrote a signature database under ~/.local/share/jupyter.
"""

from __future__ import annotations

from typing import Any

from nbformat.sign import MemorySignatureStore, NotebookNotary
from traitlets import Callable


class PagesNotary(NotebookNotary):
    """A notary that holds the app's page notebooks as trusted and keeps no signatures on disk."""

    store_factory = Callable(MemorySignatureStore, help="Signatures are kept in memory: there is nothing to sign.")

    def check_signature(self, nb: Any) -> bool:
        """Say that a page notebook is trusted: it ships with the app and its saved outputs are never shown."""
        return True
