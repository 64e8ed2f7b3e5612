"""The score board: the server-side table of all customers' scores, shared by every page and client of a process.

`ScoreBoard` (board.py) is policy only: when to build, what to patch and when, which snapshot readers get. It
leaves computing to `Signals` (signals.py: usage and records in memory, scored without the signal query), past
days to `PastTables` (past.py), what is stale to `ChangeSet` (changes.py), and rows handed over after a write in
this process to `FreshRows` (fresh.py). A `Snapshot` (snapshot.py) is one table with its views memoised.
"""

from healthdash.board.board import ScoreBoard
from healthdash.board.snapshot import Snapshot

__all__ = ["ScoreBoard", "Snapshot"]
