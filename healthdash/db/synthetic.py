"""Synthetic customers and their history, with the stories of the sample data, at any size (no I/O here).

The numbers follow db/init.sql: the same ten stories with the same ranges, the same working hours, ticket mix,
billing terms and payment habits. Variation comes from a seeded random generator instead of hashes, so a plan is
deterministic for (customers, days, seed, today). Every date lies before `today`: day offsets k count back from
yesterday (k = 1) to `days` days ago, and a customer has activity only on days after signing up and, when it churned,
up to its churn day. A story plays out over the STORY_DAYS days up to its last day: yesterday for a customer still
here, and before its churn for one that left, on a day anywhere in the `days`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from healthdash.vocabulary import PRIORITIES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
TextArray = npt.NDArray[np.object_]

STORIES = (
    "thriving", "steady", "declining", "sudden_drop", "payment_trouble", "support_heavy", "onboarding", "silent",
    "recovering", "seasonal",
)  # fmt: skip
STORY_SHARE = np.array([13, 11, 9, 5, 5, 5, 4, 6, 3, 3]) / 64  # as among the 64 sample customers
THRIVING, STEADY, DECLINING, SUDDEN_DROP, PAYMENT_TROUBLE, SUPPORT_HEAVY, ONBOARDING, SILENT, RECOVERING, SEASONAL = (
    range(10)
)
# Per story: the chance that the customer churned, and the reasons it may give (CHURN_REASONS positions): about 10-20 %
# churn over the days, as in the sample data; most that went silent or declined, now and then a healthy one.
CHURN_CHANCE = np.array([0.02, 0.06, 0.55, 0.2, 0.2, 0.0, 0.0, 0.5, 0.03, 0.03])
# Per story: the days (lo, hi) a churned customer stays on at its story's end before it leaves (declined customers
# for weeks at their low, dropped ones after their silence; the others leave on their story's last day).
CHURN_LINGER = np.array([[0, 0], [0, 0], [25, 50], [10, 25], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]])
STORY_DAYS = 150  # a story's *_start values apply this many days before its last day (as in db/init.sql)
CHURN_REASON = np.array([0, 4, 2, 3, 0, 6, 6, 1, 0, 4])  # per story, a position in vocabulary.CHURN_REASONS
PRICE = np.array([9, 19, 32, 48])  # per seat and month, by plan (as the invoices)

# Per story (rows in STORIES order): login chance at the story's start (lo, hi) and end (lo, hi), curve, favourite
# features in use then (lo, hi) and now (lo, hi), API traffic now relative to then (lo, hi), quiet days (lo, hi) and
# the login chance while quiet, the days since a rough month ended (lo, hi) and the API's cycle in days. The same table
# as sample_story in db/init.sql.
_STORY = np.array(
    [
        [0.82, 0.94, 0.90, 1.00, 1, 7, 9, 8, 10, 1.80, 2.60, 0, 0, 0.00, 0, 0, 0],
        [0.60, 0.76, 0.60, 0.76, 1, 6, 8, 6, 8, 1.15, 1.35, 0, 0, 0.00, 0, 0, 0],
        [0.72, 0.82, 0.08, 0.20, 2, 7, 8, 2, 3, 0.40, 0.58, 0, 0, 0.00, 0, 0, 0],
        [0.65, 0.85, 0.65, 0.85, 1, 6, 8, 6, 8, 1.10, 1.20, 8, 15, 0.04, 0, 0, 0],
        [0.34, 0.52, 0.34, 0.52, 1, 4, 6, 4, 6, 1.10, 1.30, 0, 0, 0.00, 0, 0, 0],
        [0.38, 0.52, 0.38, 0.52, 1, 5, 6, 5, 6, 0.90, 1.05, 0, 0, 0.00, 0, 0, 0],
        [0.55, 0.75, 0.55, 0.75, 1, 2, 4, 2, 4, 1.00, 1.00, 0, 0, 0.00, 0, 0, 0],
        [0.55, 0.65, 0.15, 0.25, 1, 5, 5, 3, 3, 0.50, 0.60, 31, 50, 0.00, 0, 0, 0],
        [0.66, 0.80, 0.66, 0.80, 1, 6, 8, 6, 8, 1.10, 1.30, 0, 0, 0.00, 55, 65, 0],
        [0.60, 0.76, 0.60, 0.76, 1, 6, 8, 6, 8, 1.00, 1.10, 0, 0, 0.00, 0, 0, 91],
    ]
)
ROUGH_DAYS = 30  # how long a recovering customer's rough month lasts
# Background tickets per story: chance per 10 days, calm days at the end, cumulative share of low, medium, high.
_TICKET_MIX = np.array(
    [
        [0.07, 0, 0.85, 1.00, 1.00],
        [0.13, 0, 0.60, 1.00, 1.00],
        [0.13, 0, 0.45, 0.95, 1.00],
        [0.08, 0, 0.60, 1.00, 1.00],
        [0.08, 0, 0.60, 1.00, 1.00],
        [0.30, 29, 0.20, 0.60, 0.90],
        [0.00, 0, 1.00, 1.00, 1.00],
        [0.08, 0, 0.60, 1.00, 1.00],
        [0.13, 0, 0.60, 1.00, 1.00],
        [0.13, 0, 0.60, 1.00, 1.00],
    ]
)

SEGMENT_SHARE = (0.10, 0.30, 0.60)
_PLAN_CHOICE = {0: ((2, 3), (0.4, 0.6)), 1: ((1, 2), (0.55, 0.45)), 2: ((0, 1), (0.45, 0.55))}
_SEATS = {0: (500, 3200), 1: (50, 450), 2: (5, 50)}
PRICE_PER_SEAT = np.array([9.0, 19.0, 32.0, 48.0])  # by plan, per month
REGION_SHARE = (0.45, 0.35, 0.20)
FIRST_MINUTE = np.array([780, 420, 0])  # the working day (ten hours) starts then, minutes after midnight UTC
INDUSTRIES = (
    "software", "hospitality", "manufacturing", "logistics", "healthcare", "finance", "education", "media",
    "energy", "legal", "retail", "construction", "agriculture", "real_estate", "nonprofit", "utilities",
)  # fmt: skip
OWNERS = ("Hannah Becker", "Maya Lindqvist", "Daniel Okafor", "Tomás Herrera", "Kenji Watanabe", "Priya Raman")

FEATURES = (
    ("dashboards", "Dashboards"), ("reports", "Scheduled reports"), ("alerts", "Alerts"),
    ("integrations", "Integrations"), ("api_keys", "API keys"), ("sso", "Single sign-on"),
    ("exports", "Data exports"), ("workflows", "Workflows"), ("comments", "Comments"), ("mobile_app", "Mobile app"),
    ("audit_log", "Audit log"), ("custom_fields", "Custom fields"),
)  # fmt: skip
# catalogue positions (= rollup bits) in order of popularity
_POPULARITY = np.array([0, 1, 2, 6, 3, 8, 4, 9, 7, 11, 5, 10])

_FIRST = (
    "Blue", "Copper", "Iron", "Silver", "Gold", "Amber", "Cedar", "Maple", "Harbour", "Granite", "Willow", "Ember",
    "Frost", "Lumen", "Oak", "Pine", "Raven", "Stone", "Sun", "Tide", "North", "West", "River", "Lake", "Hollow",
    "Moon", "Star", "Fern", "Ash", "Birch", "Cobalt", "Drift", "Fjord", "Glen", "Heath", "Kestrel", "Lark",
    "Marigold", "Nettle", "Orchard", "Quill", "Rose", "Salt", "Thistle", "Umber", "Vale", "Wren", "Zephyr",
)  # fmt: skip
_SECOND = (
    "line", "bark", "peak", "field", "brook", "well", "gate", "ridge", "wood", "haven", "crest", "stead", "mark",
    "ford", "bridge", "light", "water", "moor", "point", "wick", "shore", "spring", "vale", "worth", "fall",
    "stone", "rock", "dale", "hurst", "lock", "mere", "port", "side", "ton", "by", "holm", "lund", "berg", "dal",
    "mont", "ville", "wind", "wing", "root", "leaf", "path", "fire", "bloom",
)  # fmt: skip
_FORM = (
    "Analytics", "Health", "Logistics", "Systems", "Labs", "Studio", "Group", "Partners", "Foods", "Energy",
    "Software", "Freight", "Clinics", "Capital", "Media", "Retail", "Robotics", "Hotels", "Learning", "Legal",
    "Insurance", "Design", "Outfitters", "Brewing", "GmbH", "AB", "Ltd", "SARL", "KK", "Pty Ltd", "& Söhne",
    "Café", "Cosmétiques", "Skogsbruk", "Ōtsuka", "Coöperatie", "Müller AG", "& Co.", "Agritech", "Kitchens",
    "Games", "Dental", "Vet", "Credit Union", "Property", "Ferries", "Translation", "Works",
)  # fmt: skip
_USERS = (
    "anna", "ben", "chiara", "david", "elif", "farah", "gustav", "hana", "ivan", "jonas",
    "kemal", "lucía", "mei", "nora", "oskar", "priya", "rafael", "sofia", "tomás", "yuki",
)  # fmt: skip
_SURNAMES = (
    "lee", "schmidt", "okafor", "rossi", "novak", "tanaka", "silva", "kowalski", "nguyen", "berg",
    "moreau", "haddad", "costa", "jensen", "park", "murphy", "ortega", "fischer", "walsh", "ali",
)  # fmt: skip
LOGIN_DATA = np.array([f'{{"user": "{u}.{s}"}}' for u in _USERS for s in _SURNAMES], dtype=object)
FEATURE_DATA = np.array([f'{{"feature": "{key}"}}' for key, _ in FEATURES], dtype=object)

_RESOLUTION = np.array([240, 120, 72, 8])  # minutes per unit of the resolution draw, by priority
TOPICS = ("general", "billing", "onboarding", "renewal", "incident")
_SUBJECTS: dict[tuple[int, int], tuple[str, ...]] = {
    (1, -1): (
        "Invoice sent to the wrong billing contact", "Card on file declined", "Question about an overdue invoice",
        "Please add our PO number to invoices", "Request to move to quarterly billing",
    ),
    (2, -1): ("How do I invite my team?", "Help connecting our CRM integration", "Setting up single sign-on",
              "Importing our historical data"),
    (3, -1): ("Question about our contract end date", "How do we export all our data?", "Downgrading to fewer seats"),
    (4, 3): ("Dashboards down for the whole company", "All users locked out after the SSO certificate change",
             "Nightly sync wiped our custom fields"),
    (4, -1): ("Still no data since the outage", "Integration sync has not resumed",
              "Reports empty since last week's incident"),
    (0, 0): (
        "How do I export a dashboard to PDF?", "Question about adding seats", "Request: dark mode for reports",
        "Typo in the alert e-mail template", "How do I change the default time zone?", "Can we rename a workspace?",
        "Feature request: bulk edit of custom fields",
    ),
    (0, 1): (
        "Scheduled report arrived empty", "Slack integration posts duplicates", "CSV export truncates long text",
        "Mobile app logs out after the update", "Alert thresholds are not saved", "Dashboard slow for long date ranges",
        "Webhook retries are not documented",
    ),
    (0, 2): (
        "SSO login fails for some users", "Integration sync stuck for 24 hours", "Workflows stopped triggering",
        "Report totals wrong after the migration", "API returns 502 intermittently",
        "Data missing from yesterday's export",
    ),
    (0, 3): ("Dashboards not loading for anyone", "Critical alerts are not delivered",
             "API rate limit blocks our nightly sync", "Cannot log in at all"),
}  # fmt: skip
LOGIN, FEATURE_USE, API_CALL, TICKET_OPENED, TICKET_CLOSED, INVOICE_ISSUED, INVOICE_PAID = range(7)
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Customers:
    """The customers' profile columns and their drawn behaviour, one array element per customer (ids from 1)."""

    id: IntArray
    name: TextArray
    segment: IntArray
    plan: IntArray
    seats: IntArray
    industry: IntArray
    region: IntArray
    owner: IntArray
    age_days: IntArray
    signup_second: IntArray  # seconds after midnight of the signup day
    story: IntArray


@dataclass(frozen=True)
class Outcomes:
    """Each customer's contract (ARR, renewal day) and churn: whether, the day (days since the epoch) and why."""

    arr: npt.NDArray[np.float64]
    renewal_day: IntArray
    churned: npt.NDArray[np.bool_]
    churn_day: IntArray  # -1: not churned
    reason: IntArray  # index into CHURN_REASONS
    last_k: IntArray  # the day offset of the customer's last day: 1 (yesterday), or its churn day
    story_end_k: IntArray  # the day offset of its story's last day: last_k, or weeks before a churn


@dataclass(frozen=True)
class Tickets:
    """Support tickets, ordered (and numbered from 1) by the moment they were opened."""

    customer: IntArray  # index into the customers
    priority: IntArray
    subject: TextArray
    opened_at: IntArray  # seconds since the epoch
    closed_at: IntArray  # seconds since the epoch; -1 while open

    @property
    def id(self) -> IntArray:
        return np.arange(1, len(self.customer) + 1, dtype=np.int64)


@dataclass(frozen=True)
class Invoices:
    """Invoices, ordered (and numbered from 1) by issue date, then customer."""

    customer: IntArray
    amount_cents: IntArray
    issued_on: IntArray  # days since the epoch
    due_on: IntArray
    paid_on: IntArray  # -1 while unpaid

    @property
    def id(self) -> IntArray:
        return np.arange(1, len(self.customer) + 1, dtype=np.int64)


@dataclass(frozen=True)
class DayOfEvents:
    """One day's events, in the order of occurrence, and the customers' daily rollup rows for that day."""

    day: dt.date
    customer_id: IntArray
    type: IntArray  # index into EVENT_TYPES
    occurred_at: IntArray  # seconds since the epoch
    data: TextArray  # JSON text
    rollup_customer_id: IntArray
    rollup_logins: IntArray
    rollup_api_calls: IntArray
    rollup_feature_uses: IntArray
    rollup_feature_mask: IntArray


class Plan:
    """A deterministic synthetic data set: customers, tickets, invoices, then the events day by day."""

    def __init__(self, customers: int, days: int, seed: int = 0, today: dt.date | None = None) -> None:
        if customers < 1 or days < 1:
            raise ValueError("a data set needs at least one customer and one day")
        self.size = customers
        self.days = days
        self.seed = seed
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.epoch_day = (self.today - dt.date(1970, 1, 1)).days  # today, in days since the epoch

    def rng(self, *salt: int) -> np.random.Generator:
        """Return the random generator of one part of the plan."""
        return np.random.default_rng([self.seed, *salt])

    @cached_property
    def customers(self) -> Customers:
        n, rng = self.size, self.rng(1)
        story = rng.choice(len(STORIES), size=n, p=STORY_SHARE)
        story[: min(n, len(STORIES))] = rng.permutation(len(STORIES))[: min(n, len(STORIES))]  # every story appears
        segment = rng.choice(3, size=n, p=SEGMENT_SHARE)
        plan = np.empty(n, dtype=np.int64)
        seats = np.empty(n, dtype=np.int64)
        for code, (choices, weights) in _PLAN_CHOICE.items():
            mine = segment == code
            plan[mine] = rng.choice(choices, size=int(mine.sum()), p=weights)
            low, high = _SEATS[code]
            seats[mine] = np.round(np.exp(rng.uniform(np.log(low), np.log(high), size=int(mine.sum()))))
        older = rng.integers(self.days + 10, self.days + 750, size=n)
        age = np.where(story == ONBOARDING, rng.integers(5, 13, size=n), older)
        return Customers(
            id=np.arange(1, n + 1, dtype=np.int64),
            name=_names(n, rng),
            segment=segment,
            plan=plan,
            seats=seats,
            industry=rng.integers(0, len(INDUSTRIES), size=n),
            region=rng.choice(3, size=n, p=REGION_SHARE),
            owner=rng.integers(0, len(OWNERS), size=n),
            age_days=age,
            signup_second=(480 + rng.integers(0, 540, size=n)) * 60,
            story=story,
        )

    @cached_property
    def profile(self) -> dict[str, npt.NDArray[np.float64]]:
        """Each customer's story ranges resolved with its own draws (as sample_profile in db/init.sql)."""
        c, rng = self.customers, self.rng(2)
        s = _STORY[c.story]
        intensity, breadth, volume, timing = (rng.random(self.size) for _ in range(4))
        api = np.round(40 * np.sqrt(c.seats) * (0.5 + volume))
        api[(c.story == STEADY) & (c.plan == 0)] = 0  # starter customers of the steady kind use no API
        return {
            "first_minute": FIRST_MINUTE[c.region].astype(float),
            "max_logins": np.choose(c.segment, [6, 4, 2]).astype(float),
            "api_batches": np.choose(c.segment, [3, 2, 1]).astype(float),
            "users": np.minimum(c.seats, 12).astype(float),
            "login_start": s[:, 0] + (s[:, 1] - s[:, 0]) * intensity,
            "login_end": s[:, 2] + (s[:, 3] - s[:, 2]) * intensity,
            "curve": s[:, 4],
            "features_start": np.floor(s[:, 5] + (s[:, 6] - s[:, 5] + 1) * breadth),
            "features_end": np.floor(s[:, 7] + (s[:, 8] - s[:, 7] + 1) * breadth),
            "api_per_day": api,
            "api_end": s[:, 9] + (s[:, 10] - s[:, 9]) * volume,
            "quiet_days": np.floor(s[:, 11] + (s[:, 12] - s[:, 11] + 1) * timing),
            "quiet_login": s[:, 13],
            "rough_end": np.where(s[:, 15] > 0, np.floor(s[:, 14] + (s[:, 15] - s[:, 14] + 1) * timing), 0),
            "season": s[:, 16],
            "season_phase": timing * s[:, 16],
        }

    @cached_property
    def outcomes(self) -> Outcomes:
        """ARR and renewal by plan, seats and signup; churn by story with noise (as in db/init.sql), on a day spread
        over the whole history, after the customer's story played out (its decline, its drop, its silence)."""
        c, rng = self.customers, self.rng(9)
        discount = np.where(c.seats > 1000, 0.75, np.where(c.seats > 250, 0.85, 1.0))
        arr = np.round(c.seats * 12 * PRICE[c.plan] * discount, 2)
        signup = self.epoch_day - c.age_days
        renewal = signup + 365 * (c.age_days // 365 + 1)
        churned = rng.random(self.size) < CHURN_CHANCE[c.story]
        ago = rng.integers(1, self.days + 1, size=self.size)
        ago = np.clip(ago, 1, np.maximum(np.minimum(c.age_days - 1, self.days), 1))
        churned &= c.age_days > 1
        linger = CHURN_LINGER[c.story]
        stays = linger[:, 0] + np.floor((linger[:, 1] - linger[:, 0] + 1) * rng.random(self.size)).astype(np.int64)
        last = np.where(churned, ago, 1).astype(np.int64)
        return Outcomes(
            arr=arr,
            renewal_day=renewal.astype(np.int64),
            churned=churned,
            churn_day=np.where(churned, self.epoch_day - ago, -1).astype(np.int64),
            reason=CHURN_REASON[c.story].astype(np.int64),
            last_k=last,
            story_end_k=np.where(churned, last + stays, 1).astype(np.int64),
        )

    @cached_property
    def preference(self) -> IntArray:
        """Each customer's features (catalogue positions), most favoured first: popular ones tend to come first."""
        rank = np.argsort(_POPULARITY)  # popularity rank of each catalogue position
        keys = rank[None, :] + 6 * self.rng(3).random((self.size, len(FEATURES)))
        return np.argsort(keys, axis=1, kind="stable")

    @cached_property
    def tickets(self) -> Tickets:
        c, p, rng = self.customers, self.profile, self.rng(4)
        parts: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []  # customer, day offset, topic, priority
        mix = _TICKET_MIX[c.story]
        end = self.outcomes.story_end_k  # the story's tickets count back from its last day
        calm = np.maximum(mix[:, 1], p["quiet_days"]) + end - 1
        for block in range((self.days + 9) // 10):
            k = block * 10 + 1 + rng.integers(0, 10, size=self.size)
            draw = rng.random(self.size)
            priority = (draw >= mix[:, 2]).astype(np.int64) + (draw >= mix[:, 3]) + (draw >= mix[:, 4])
            happens = (rng.random(self.size) < mix[:, 0]) & (k > calm)
            parts.append(_pick(happens, k, 0, priority))
        heavy = c.story == SUPPORT_HEAVY
        count = 2 + rng.integers(0, 3, size=self.size)
        for i in range(4):
            urgent = rng.random(self.size) < 0.35
            day = end + 1 + rng.integers(0, 26, size=self.size)
            parts.append(_pick(heavy & (i < count), day, 0, np.where(urgent, 3, 2)))
        parts.append(_pick(heavy, end + rng.integers(0, 28, size=self.size), 0, 1))
        drop = c.story == SUDDEN_DROP
        quiet = p["quiet_days"].astype(np.int64) + end - 1  # the first quiet day, counted back
        parts.append(_pick(drop, quiet + 1, 4, 3))
        aftermath = drop & (rng.random(self.size) < 0.7)
        parts.append(_pick(aftermath, quiet - 1 - rng.integers(0, 3, size=self.size), 4, 2))
        recovering = c.story == RECOVERING
        rough = p["rough_end"].astype(np.int64) + end - 1
        parts.append(_pick(recovering, rough + 27, 0, 2))
        parts.append(_pick(recovering, rough + 12, 0, 1))
        trouble = c.story == PAYMENT_TROUBLE
        parts.append(_pick(trouble, end + 2 + rng.integers(0, 22, size=self.size), 1, 1))
        parts.append(_pick(trouble, end + 39 + rng.integers(0, 40, size=self.size), 1, 0))
        onboarding = c.story == ONBOARDING
        setup = np.where(rng.random(self.size) < 0.5, 0, 1)
        parts.append(_pick(onboarding, c.age_days - 1 - rng.integers(0, 2, size=self.size), 2, setup))
        renewal = (c.story == SILENT) & (rng.random(self.size) < 0.6)
        parts.append(_pick(renewal, quiet + 2 + rng.integers(0, 5, size=self.size), 3, 0))

        customer, k, topic, priority = (np.concatenate(column) for column in zip(*parts, strict=True))
        keep = (k >= self.outcomes.last_k[customer]) & (k <= self.days) & (k < c.age_days[customer])
        customer, k, topic, priority = customer[keep], k[keep], topic[keep], priority[keep]
        n = len(customer)
        minute = p["first_minute"][customer].astype(np.int64) + rng.integers(0, 600, size=n)
        opened = (self.epoch_day - k) * DAY_SECONDS + minute * 60 + rng.integers(0, 60, size=n)
        factor = _RESOLUTION[priority] * np.where(c.story[customer] == SUPPORT_HEAVY, 2, 1)
        resolved = opened + (20 + np.floor(60 * rng.random(n) * factor)).astype(np.int64) * 60
        closed = np.where(resolved < self.epoch_day * DAY_SECONDS, resolved, -1)
        draw = rng.random(n)
        subject = np.empty(n, dtype=object)
        for i in range(n):
            key = (
                int(topic[i]),
                -1 if topic[i] in (1, 2, 3) or (topic[i] == 4 and priority[i] != 3) else int(priority[i]),
            )
            options = _SUBJECTS[key]
            subject[i] = options[int(draw[i] * len(options))]
        order = np.lexsort((customer, opened))
        return Tickets(customer[order], priority[order], subject[order], opened[order], closed[order])

    @cached_property
    def invoices(self) -> Invoices:
        """Quarterly invoices for enterprise customers, monthly for the others, on the sign-up anniversary."""
        c, rng = self.customers, self.rng(5)
        months = np.where(c.segment == 0, 3, 1)
        terms = np.where(c.segment == 2, 14, 30)
        signup = np.datetime64(self.today, "D") - c.age_days
        signup_month = signup.astype("datetime64[M]")
        day_of_month = (signup - signup_month.astype("datetime64[D]")).astype(np.int64)
        first, last = self.epoch_day - self.days, self.epoch_day - self.outcomes.last_k  # none after a churn
        rows: list[tuple[IntArray, IntArray]] = []
        for n in range(int(c.age_days.max()) // 28 + 2):
            month = signup_month + n * months
            length = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
            issued = (month.astype("datetime64[D]") + np.minimum(day_of_month, length - 1)).astype(np.int64)
            inside = (issued >= first) & (issued <= last)
            rows.append((np.flatnonzero(inside), issued[inside]))
        customer = np.concatenate([r[0] for r in rows]).astype(np.int64)
        issued = np.concatenate([r[1] for r in rows]).astype(np.int64)
        order = np.lexsort((customer, issued))
        customer, issued = customer[order], issued[order]
        seats = c.seats[customer]
        discount = np.where(seats > 1000, 0.75, np.where(seats > 250, 0.85, 1.0))
        amount = np.round(seats * months[customer] * PRICE_PER_SEAT[c.plan[customer]] * discount * 100)
        due = issued + terms[customer]
        paid_after = self._paid_after(customer, issued, terms[customer], rng)
        paid = np.where((paid_after >= 0) & (issued + paid_after < self.epoch_day), issued + paid_after, -1)
        return Invoices(customer, amount.astype(np.int64), issued, due, paid)

    def _paid_after(self, customer: IntArray, issued: IntArray, terms: IntArray, rng: np.random.Generator) -> IntArray:
        """Days after issue each invoice is paid (-1: not paid), by the customer's story (as in db/init.sql)."""
        story = self.customers.story[customer]
        n = len(customer)
        draw, days = rng.random(n), rng.random(n)
        arrears = rng.random(self.size)[customer]
        stopped = rng.random(self.size)[customer] < 0.6
        end = self.outcomes.story_end_k[customer]
        quiet = self.profile["quiet_days"][customer] + end - 1  # the first quiet day, counted back
        recent = issued >= self.epoch_day - end - 99  # in the story's last 100 days
        result = np.floor(terms * (0.2 + 0.8 * days))
        sometimes_late = np.isin(story, (STEADY, DECLINING, SUPPORT_HEAVY)) & (draw < 0.1)
        result = np.where(sometimes_late, terms + 1 + np.floor(10 * days), result)
        result = np.where((story == SILENT) & (issued >= self.epoch_day - quiet) & stopped, -1, result)
        trouble = story == PAYMENT_TROUBLE
        result = np.where(trouble & ~recent, terms + 2 + np.floor(18 * days), result)
        late = np.where(draw < 0.7, terms + 16 + np.floor(25 * days), terms + 3 + np.floor(12 * days))
        result = np.where(trouble & recent, np.where(draw < 0.25 + 0.3 * arrears, -1, late), result)
        return result.astype(np.int64)

    def event_days(self) -> Iterator[DayOfEvents]:
        """Yield the events day by day, oldest first."""
        tickets, invoices = self.tickets, self.invoices
        ticket_open_day = tickets.opened_at // DAY_SECONDS
        ticket_close_day = np.where(tickets.closed_at >= 0, tickets.closed_at // DAY_SECONDS, -1)
        for k in range(self.days, 0, -1):
            yield self._day(k, ticket_open_day, ticket_close_day, tickets, invoices)

    def _day(
        self, k: int, open_day: IntArray, close_day: IntArray, tickets: Tickets, invoices: Invoices
    ) -> DayOfEvents:
        c, p, rng = self.customers, self.profile, self.rng(6, k)
        day = self.epoch_day - k
        n = self.size
        date = self.today - dt.timedelta(days=k)
        weekend = date.isoweekday() >= 6
        end = self.outcomes.story_end_k
        story_day = k - end + 1  # counted back from the story's last day (1)
        progress = np.clip((STORY_DAYS - story_day) / (STORY_DAYS - 1), 0, 1) ** p["curve"]
        alive = (k < c.age_days) & (k >= self.outcomes.last_k)
        quiet = (p["quiet_days"] > 0) & (story_day <= p["quiet_days"])
        rough = (p["rough_end"] > 0) & (story_day > p["rough_end"]) & (story_day <= p["rough_end"] + ROUGH_DAYS)
        chance = np.where(quiet, p["quiet_login"], p["login_start"] + (p["login_end"] - p["login_start"]) * progress)
        active = alive & (rng.random(n) < chance * (0.3 if weekend else 1.0) * np.where(rough, 0.25, 1.0))
        in_use = np.round(
            (p["features_start"] + (p["features_end"] - p["features_start"]) * progress) * np.where(rough, 0.5, 1.0)
        )
        traffic = p["api_per_day"] * (1 + (p["api_end"] - 1) * progress) * (0.35 if weekend else 1.0)
        traffic *= np.where(rough, 0.4, 1.0)
        cycle = np.maximum(p["season"], 1)
        traffic *= np.where(p["season"] > 0, 1 + 0.7 * np.sin(2 * np.pi * (k + p["season_phase"]) / cycle), 1.0)
        calls = np.round(traffic * (0.8 + 0.4 * rng.random(n))).astype(np.int64)
        calls[quiet | (k > c.age_days - 3) | ~alive] = 0

        who = np.flatnonzero(active)
        logins = 1 + np.floor(p["max_logins"][who] * rng.random(len(who))).astype(np.int64)
        login_customer = np.repeat(who, logins)
        login_number = np.floor(p["users"][login_customer] * rng.random(len(login_customer))).astype(np.int64)
        cid = login_customer + 1
        login_data = LOGIN_DATA[((cid * 7 + login_number * 3) % 20) * 20 + (cid * 11 + login_number * 7) % 20]
        login_second = self._working_second(login_customer, rng)

        uses = (np.arange(len(FEATURES))[None, :] < in_use[who, None]) & (rng.random((len(who), len(FEATURES))) < 0.35)
        row, rank = np.nonzero(uses)
        use_customer = who[row]
        feature = self.preference[use_customer, rank]
        use_second = self._working_second(use_customer, rng)

        callers = np.flatnonzero(calls > 0)
        batches = np.minimum(p["api_batches"][callers].astype(np.int64), calls[callers])
        api_customer = np.repeat(callers, batches)
        batch_count = np.repeat(batches, batches)
        batch_number = np.arange(len(api_customer)) - np.repeat(np.cumsum(batches) - batches, batches)
        total = calls[api_customer]
        api_count = total // batch_count + (batch_number < total % batch_count)
        api_second = np.floor((batch_number + rng.random(len(api_customer))) * DAY_SECONDS / batch_count)
        api_data = np.array([f'{{"count": {int(v)}}}' for v in api_count], dtype=object)

        opened = np.flatnonzero(open_day == day)
        closed = np.flatnonzero(close_day == day)
        issued = np.flatnonzero(invoices.issued_on == day)
        paid = np.flatnonzero(invoices.paid_on == day)
        customer = np.concatenate(
            [login_customer, use_customer, api_customer, tickets.customer[opened], tickets.customer[closed],
             invoices.customer[issued], invoices.customer[paid]]
        )  # fmt: skip
        kinds = [len(login_customer), len(use_customer), len(api_customer), len(opened), len(closed)]
        kinds += [len(issued), len(paid)]
        midnight = day * DAY_SECONDS
        at = np.concatenate(
            [midnight + login_second, midnight + use_second, midnight + api_second.astype(np.int64),
             tickets.opened_at[opened], tickets.closed_at[closed],
             np.full(len(issued), midnight + 18 * 3600), np.full(len(paid), midnight + 11 * 3600)]
        )  # fmt: skip
        data = np.concatenate(
            [login_data, FEATURE_DATA[feature], api_data, _ticket_data(tickets, opened, True),
             _ticket_data(tickets, closed, False), _invoice_data(invoices, issued), _invoice_data(invoices, paid)]
        )  # fmt: skip
        kind = np.repeat(np.arange(len(kinds)), kinds)  # the first seven of EVENT_TYPES: the activity and records
        order = np.lexsort((kind, customer, at))

        activity = np.bincount(login_customer, minlength=n) + np.bincount(use_customer, minlength=n)
        activity += np.bincount(api_customer, minlength=n)
        mask = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(mask, use_customer, np.left_shift(1, feature))
        rolled = np.flatnonzero(activity)
        return DayOfEvents(
            day=date,
            customer_id=customer[order] + 1,
            type=kind[order],
            occurred_at=at[order],
            data=data[order],
            rollup_customer_id=rolled + 1,
            rollup_logins=np.bincount(login_customer, minlength=n)[rolled],
            rollup_api_calls=np.bincount(api_customer, weights=api_count, minlength=n)[rolled].astype(np.int64),
            rollup_feature_uses=np.bincount(use_customer, minlength=n)[rolled],
            rollup_feature_mask=mask[rolled],
        )

    def _working_second(self, customer: IntArray, rng: np.random.Generator) -> IntArray:
        """A moment within each customer's ten-hour working day, in seconds after midnight UTC."""
        start = self.profile["first_minute"][customer].astype(np.int64) * 60
        return start + rng.integers(0, 600 * 60, size=len(customer))


def _pick(
    mask: npt.NDArray[np.bool_], k: IntArray, topic: int, priority: IntArray | int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    who = np.flatnonzero(mask)
    prio = np.broadcast_to(np.asarray(priority, dtype=np.int64), mask.shape)[who]
    return who, np.asarray(k, dtype=np.int64)[who], np.full(len(who), topic, dtype=np.int64), prio


def _names(n: int, rng: np.random.Generator) -> TextArray:
    """Unique company names; a number is added once every combination of words has been used."""
    combinations = len(_FIRST) * len(_SECOND) * len(_FORM)
    pick = rng.permutation(combinations)[np.arange(n) % combinations]
    first, rest = np.divmod(pick, len(_SECOND) * len(_FORM))
    second, form = np.divmod(rest, len(_FORM))
    names = np.empty(n, dtype=object)
    for i in range(n):
        base = f"{_FIRST[first[i]]}{_SECOND[second[i]]} {_FORM[form[i]]}"
        names[i] = base if i < combinations else f"{base} {i // combinations + 1}"
    return names


def _ticket_data(tickets: Tickets, rows: IntArray, opened: bool) -> TextArray:
    ids = tickets.id[rows]
    if opened:
        return np.array(
            [
                f'{{"priority": "{PRIORITIES[p]}", "ticket_id": {i}}}'
                for i, p in zip(ids, tickets.priority[rows], strict=True)
            ],
            dtype=object,
        )
    return np.array([f'{{"ticket_id": {i}}}' for i in ids], dtype=object)


def _invoice_data(invoices: Invoices, rows: IntArray) -> TextArray:
    return np.array(
        [
            f'{{"amount": {cents // 100}.{cents % 100:02d}, "invoice_id": {i}}}'
            for i, cents in zip(invoices.id[rows], invoices.amount_cents[rows], strict=True)
        ],
        dtype=object,
    )
