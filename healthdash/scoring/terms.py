"""The words the scoring model defines: its factors' keys, its tiers and the ticket priorities it weighs.

Each is a `Literal` type (for type checkers and the API's schemas) and the tuple of its values in their order.
"""

from __future__ import annotations

from typing import Literal, get_args

FactorKey = Literal["login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage"]
FACTOR_KEYS: tuple[str, ...] = get_args(FactorKey)

Tier = Literal["healthy", "at_risk", "critical", "insufficient_data"]
TIERS: tuple[str, ...] = get_args(Tier)

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
