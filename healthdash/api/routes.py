"""The API's URL patterns."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from healthdash.api.batch import EventBatchHandler
from healthdash.api.context import ApiContext
from healthdash.api.customers import CustomerHandler, CustomersHandler, ExternalCustomerHandler
from healthdash.api.handlers import (
    AuditHandler,
    BacktestHandler,
    CustomerChangesHandler,
    CustomerEventHandler,
    CustomerEventsHandler,
    CustomerHealthHandler,
    CustomerHistoryHandler,
    DashboardHandler,
    HealthzHandler,
    MeHandler,
    NotFoundHandler,
    OpenApiHandler,
    ScoresHandler,
    ScoringHandler,
)

default_handlers = [
    (r"/api/dashboard", DashboardHandler),
    (r"/api/customers", CustomersHandler),
    (r"/api/customers/external/([^/]+)", ExternalCustomerHandler),
    (r"/api/customers/([^/]+)", CustomerHandler),
    (r"/api/scores", ScoresHandler),
    (r"/api/scoring", ScoringHandler),
    (r"/api/customers/([^/]+)/health", CustomerHealthHandler),
    (r"/api/customers/([^/]+)/history", CustomerHistoryHandler),
    (r"/api/customers/([^/]+)/changes", CustomerChangesHandler),
    (r"/api/customers/([^/]+)/events", CustomerEventsHandler),
    (r"/api/customers/([^/]+)/events/([^/]+)", CustomerEventHandler),
    (r"/api/events/batch", EventBatchHandler),
    (r"/api/me", MeHandler),
    (r"/api/audit", AuditHandler),
    (r"/api/backtest", BacktestHandler),
    (r"/api/openapi\.json", OpenApiHandler),
    (r"/api/healthz", HealthzHandler),
    # anything else under /api/ except Voila's own kernel routes
    (r"/api/(?!kernels(?:/|$)).*", NotFoundHandler),
]


def api_handlers(base_url: str, api: ApiContext) -> list[tuple[str, type, dict[str, Any]]]:
    """Return the API routes under a base URL, each handler given the shared context."""
    return [(url_path_join(base_url, pattern), handler, {"api": api}) for pattern, handler in default_handlers]
