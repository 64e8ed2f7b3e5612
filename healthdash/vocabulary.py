"""The domain's words and bounds, defined once: what the API accepts, the database checks and the pages offer.

Each set of words is a `Literal` type (for type checkers and the API's schemas) and the tuple of its values, in the
order the database, the generator and the pages use. The scoring model's own words (factor keys, tiers, ticket
priorities) are defined in `healthdash.scoring.terms`, which imports nothing else of healthdash, and are repeated
here so that every other module finds every word in one place. A table that gives each word a value of its own
(labels, colours, default weights) names its words and is checked against these. `db/init.sql` checks the same
words and bounds in its CHECK constraints; tests/db/test_vocabulary.py holds the two to the same values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, get_args

from healthdash.scoring.terms import FACTOR_KEYS, PRIORITIES, TIERS, FactorKey, Priority, Tier

__all__ = [
    "ACTIVITY_TYPES",
    "CHURN_REASONS",
    "EARLIEST_DAY",
    "EVENT_TYPES",
    "EXTERNAL_ID_PATTERN",
    "FACTOR_KEYS",
    "FEATURE_KEY_PATTERN",
    "INVOICE_STATUSES",
    "LATEST_DAY",
    "MAX_AMOUNT",
    "MAX_API_CALLS",
    "MAX_BATCH",
    "MAX_EXTERNAL_ID_LENGTH",
    "MAX_FUTURE",
    "MAX_ID",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_NOTE_LENGTH",
    "MAX_SEATS",
    "MAX_SUBJECT_LENGTH",
    "MAX_USER_LENGTH",
    "OUTCOME_TYPES",
    "PLANS",
    "PRIORITIES",
    "REGIONS",
    "SEGMENTS",
    "STATUSES",
    "TICKET_STATUSES",
    "TIERS",
    "ChurnReason",
    "EventType",
    "FactorKey",
    "InvoiceStatus",
    "Plan",
    "Priority",
    "Region",
    "Segment",
    "Status",
    "TicketStatus",
    "Tier",
]

# --- customers -------------------------------------------------------------------------------------------------

Segment = Literal["enterprise", "mid_market", "smb"]
SEGMENTS: tuple[str, ...] = get_args(Segment)
Plan = Literal["starter", "growth", "business", "enterprise"]
PLANS: tuple[str, ...] = get_args(Plan)
Region = Literal["amer", "emea", "apac"]
REGIONS: tuple[str, ...] = get_args(Region)
MAX_NAME_LENGTH = 200  # a customer's name, without surrounding spaces
MAX_SEATS = 1_000_000
Status = Literal["active", "churned"]  # whether it is still a customer
STATUSES: tuple[str, ...] = get_args(Status)
MAX_EXTERNAL_ID_LENGTH = 200  # the customer's id in the CRM: printable ASCII without spaces
EXTERNAL_ID_PATTERN = r"^[!-~]+$"

# --- events ----------------------------------------------------------------------------------------------------

EventType = Literal[
    "login",
    "feature_use",
    "api_call",
    "ticket_opened",
    "ticket_closed",
    "invoice_issued",
    "invoice_paid",
    "churned",
    "renewed",
    "arr_changed",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
ACTIVITY_TYPES: frozenset[str] = frozenset({"login", "api_call", "feature_use"})  # they touch no other record
OUTCOME_TYPES: frozenset[str] = frozenset({"churned", "renewed", "arr_changed"})  # they change the customer's record
ChurnReason = Literal["budget", "product_fit", "competitor", "support", "consolidation", "business_closed", "other"]
CHURN_REASONS: tuple[str, ...] = get_args(ChurnReason)
MAX_NOTE_LENGTH = 2000  # a note on an outcome
MAX_USER_LENGTH = 200  # who logged in
FEATURE_KEY_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"  # a key of the feature catalogue
MAX_API_CALLS = 1_000_000_000  # in one api_call event
EARLIEST_DAY = dt.date(2000, 1, 1)  # no event, date or as_of before it
LATEST_DAY = dt.date(2199, 12, 31)  # no date or as_of after it
MAX_FUTURE = dt.timedelta(minutes=5)  # how far ahead of the server's clock an event may be (clocks differ)
MAX_BATCH = 10_000  # events in one batch
MAX_IDEMPOTENCY_KEY_LENGTH = 255

# --- tickets and invoices --------------------------------------------------------------------------------------

TicketStatus = Literal["open", "closed"]
TICKET_STATUSES: tuple[str, ...] = get_args(TicketStatus)
MAX_SUBJECT_LENGTH = 500
InvoiceStatus = Literal["on_time", "late_within_grace", "late", "overdue", "open"]  # as of a day
INVOICE_STATUSES: tuple[str, ...] = get_args(InvoiceStatus)
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2): positive, at most two decimals

# --- ids -------------------------------------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # every id is a PostgreSQL bigint from 1 up

# The validation page opens on the backtest of the days from VALIDATION_DAYS ago, a churn counted within
# VALIDATION_HORIZON days and a flag in time VALIDATION_LEAD days ahead; the server computes that one once started.
VALIDATION_DAYS, VALIDATION_HORIZON, VALIDATION_LEAD = 180, 90, 30
