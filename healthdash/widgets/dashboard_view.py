"""The dashboard's views: each drawn from the dashboard summary; those linking to pages hold the pages' links."""

from __future__ import annotations

from typing import Any

from traitlets import Instance

from healthdash.api.models.responses import Dashboard
from healthdash.widgets.links import PageLinks
from healthdash.widgets.model_view import ModelView


class DashboardView(ModelView[Dashboard]):
    """A view of the dashboard summary, drawn again whenever `dashboard` changes."""

    model_trait = "dashboard"
    dashboard = Instance(Dashboard, allow_none=True, help="the dashboard summary shown")


class LinkedDashboardView(DashboardView):
    """A view of the dashboard summary whose rows or tiles link to other pages."""

    def __init__(self, links: PageLinks | None = None, **kwargs: Any) -> None:
        self.links = links or PageLinks.from_environment()
        super().__init__(**kwargs)
