"""The words the scoring model defines: its factors' keys and labels, its tiers and the ticket priorities it weighs.

Each is a `Literal` type (for type checkers and the API's schemas) and the tuple of its values in their order.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

FactorKey = Literal["login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage"]
FACTOR_KEYS: tuple[str, ...] = get_args(FactorKey)
# each factor's name as people read it (the factor's own `label`; here so that a page can name a factor without
# loading the scoring's numerical libraries)
FACTOR_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "login_frequency": "Login frequency",
        "feature_adoption": "Feature adoption",
        "ticket_volume": "Support tickets",
        "invoice_timeliness": "Invoice timeliness",
        "api_usage": "API usage",
    }
)

Tier = Literal["healthy", "at_risk", "critical", "insufficient_data"]
TIERS: tuple[str, ...] = get_args(Tier)

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
