"""The score history: every customer's score as of the end of each closed day, kept true to the events."""

from healthdash.score_history.keeper import HistoryKeeper
from healthdash.score_history.recorder import HistoryRecorder

__all__ = ["HistoryKeeper", "HistoryRecorder"]
