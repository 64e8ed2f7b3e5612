"""The score history: every customer's score as of the end of each closed day, kept true to the events."""

from healthdash.history.keeper import HistoryKeeper
from healthdash.history.recorder import HistoryRecorder

__all__ = ["HistoryKeeper", "HistoryRecorder"]
