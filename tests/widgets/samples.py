"""API answers built in memory, for widget tests that need exact values (names with markup, missing scores)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from healthdash.api.models.responses import CustomerHealth, CustomerList, Dashboard

AS_OF = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
HOSTILE = "<img src=x onerror=alert(1)>"


def dashboard(**changes: Any) -> Dashboard:
    body: dict[str, Any] = {
        "as_of": AS_OF,
        "customer_count": 7,
        "average_score": 61.25,
        "tiers": {"healthy": 3, "at_risk": 2, "critical": 1, "insufficient_data": 1},
        "arr": {
            "total": 410000.0,
            "by_tier": {"healthy": 250000.0, "at_risk": 90000.0, "critical": 60000.0, "insufficient_data": 10000.0},
            "at_risk": 150000.0,
            "renewals_due": {"healthy": 1, "at_risk": 1, "critical": 1, "insufficient_data": 0},
            "renewals_due_arr": {"healthy": 40000.0, "at_risk": 30000.0, "critical": 60000.0, "insufficient_data": 0.0},
        },
        "top_at_risk": [
            {"id": 3, "name": HOSTILE, "score": 28.6, "tier": "critical", "main_reason": "login_frequency"},
            {"id": 4, "name": "Acme & Sons", "score": 45.0, "tier": "at_risk", "main_reason": None},
        ],
        "factor_averages": {
            "login_frequency": 50.0,
            "feature_adoption": None,
            "ticket_volume": 80.0,
            "invoice_timeliness": 100.0,
            "api_usage": 75.5,
        },
        "distribution": [
            {"from": b, "to": b + 10, "count": 1 if b in (20, 40, 50, 70, 80, 90) else 0} for b in range(0, 100, 10)
        ],
    }
    body.update(changes)
    return Dashboard.model_validate(body)


def customer_list(names: list[str], total: int | None = None, offset: int = 0) -> CustomerList:
    return CustomerList.model_validate(
        {
            "customers": [
                {
                    "id": i + 1,
                    "name": name,
                    "segment": "smb",
                    "plan": "growth",
                    "score": None if i == 1 else 40.0 + i,
                    "tier": "insufficient_data" if i == 1 else "at_risk",
                    "trend": None if i == 1 else -5.0 + i * 5,
                }
                for i, name in enumerate(names)
            ],
            "total": len(names) if total is None else total,
            "limit": 50,
            "offset": offset,
            "as_of": AS_OF,
        }
    )


def factor(key: str, label: str, score: float | None, points: float, lost: float, **raw: Any) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "weight": 20.0,
        "score": score,
        "points": points,
        "points_lost": lost,
        "raw": raw,
        "explanation": f"{label} explained <b>plainly</b>.",
    }


def health(name: str = HOSTILE, **changes: Any) -> CustomerHealth:
    body: dict[str, Any] = {
        "customer": {
            "id": 3,
            "name": name,
            "segment": "mid_market",
            "plan": "business",
            "seats": 1200,
            "industry": "retail <script>",
            "region": "emea",
            "owner": None,
            "created_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
            "external_id": "crm-<b>3</b>",
            "arr": 84000.0,
            "renewal_date": dt.date(2027, 1, 31),
            "status": "active",
        },
        "as_of": AS_OF,
        "score": 28.6,
        "tier": "critical",
        "coverage": 0.7,
        "main_reason": "login_frequency",
        "trend": {"previous_score": 40.0, "delta": -11.4},
        "factors": [
            factor("login_frequency", "Login frequency", 0.0, 0.0, 35.71, active_days=0, target_days=16.0),
            factor("feature_adoption", "Feature adoption", 50.0, 17.86, 17.86, share=0.3, catalogue_size=12),
            factor(
                "ticket_volume",
                "Support tickets",
                100.0,
                28.57,
                0.0,
                tickets={"low": 0, "urgent": 1},
                weighted_load=5.0,
                flagged=True,
            ),
            factor("invoice_timeliness", "Invoice timeliness", None, 0.0, 0.0, on_time=0, late=None),
            factor("api_usage", "API usage", None, 0.0, 0.0, change=-0.25),
        ],
        "events": {
            "items": [
                {
                    "id": 11,
                    "customer_id": 3,
                    "type": "ticket_opened",
                    "occurred_at": AS_OF - dt.timedelta(hours=1),
                    "data": {"priority": "urgent", "subject": "<script>alert(2)</script>"},
                    "recorded_at": AS_OF,
                },
                {
                    "id": 10,
                    "customer_id": 3,
                    "type": "feature_use",
                    "occurred_at": AS_OF - dt.timedelta(days=2),
                    "data": {"feature": "reports"},
                    "recorded_at": AS_OF,
                },
                {
                    "id": 9,
                    "customer_id": 3,
                    "type": "login",
                    "occurred_at": AS_OF - dt.timedelta(days=3),
                    "data": {},
                    "recorded_at": AS_OF,
                },
            ],
            "total": 3,
            "limit": 20,
            "offset": 0,
        },
        "tickets": [
            {
                "id": 21,
                "subject": "<script>alert(2)</script>",
                "priority": "urgent",
                "status": "open",
                "opened_at": AS_OF - dt.timedelta(hours=1),
                "closed_at": None,
            },
            {
                "id": 20,
                "subject": "Old question",
                "priority": "low",
                "status": "closed",
                "opened_at": AS_OF - dt.timedelta(days=40),
                "closed_at": AS_OF - dt.timedelta(days=39),
            },
        ],
        "invoices": [
            {
                "id": 31,
                "amount": 1250.5,
                "issued_at": "2026-11-01",
                "due_at": "2026-12-01",
                "paid_at": None,
                "status": "open",
            },
            {
                "id": 30,
                "amount": 99.0,
                "issued_at": "2026-09-01",
                "due_at": "2026-10-01",
                "paid_at": None,
                "status": "overdue",
            },
            {
                "id": 29,
                "amount": 99.0,
                "issued_at": "2026-08-01",
                "due_at": "2026-09-01",
                "paid_at": "2026-08-20",
                "status": "on_time",
            },
        ],
        "activity": [
            {"day": "2026-11-25", "logins": 2, "feature_uses": 1, "api_calls": 300},
            {"day": "2026-09-01", "logins": 1, "feature_uses": 0, "api_calls": 0},
            {"day": "2026-08-01", "logins": 9, "feature_uses": 9, "api_calls": 9},
        ],
    }
    body.update(changes)
    return CustomerHealth.model_validate(body)
