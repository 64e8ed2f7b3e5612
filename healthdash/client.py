"""The pages' client of the healthdash REST API, with a kernel-side cache like a front-end store.

A page's kernel never opens a database pool of its own: it asks the server that started it, at the address the
server put in HEALTHDASH_API_URL (never derived from a request's Host header), as the page's visitor: with the page
token the server handed over with the request (or the token in HEALTHDASH_API_TOKEN, outside the app's pages).
Every answer is kept until `invalidate()`: switching tabs, filters or pages already seen costs
no request; Refresh and every write invalidate. The scoring configuration, fixed while the server runs, is asked for
once.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from healthdash.api.models.query import MAX_PAGE, AsOfQuery, CustomerListQuery
from healthdash.api.models.responses import (
    SCORES_CSV_COLUMNS,
    Backtest,
    CustomerHealth,
    CustomerList,
    CustomerRow,
    Dashboard,
    EventCreated,
    ScoreChanges,
    ScoreHistory,
    ScoringSettings,
)
from healthdash.scoring import ConfigError, ScoringConfig
from healthdash.spreadsheet import restored
from healthdash.vocabulary import PLANS, SEGMENTS, TIERS

if TYPE_CHECKING:
    import pandas as pd

M = TypeVar("M", bound=BaseModel)
URL_VARIABLE = "HEALTHDASH_API_URL"
TOKEN_VARIABLE = "HEALTHDASH_API_TOKEN"
PAGE_TOKEN_VARIABLE = "HTTP_X_HEALTHDASH_PAGE_TOKEN"  # Voila copies the page request's header into the kernel's
ROLE_VARIABLE = "HTTP_X_HEALTHDASH_ROLE"  # environment, once the request has arrived (a preheated kernel waits for it)
ROLES = ("viewer", "csm", "admin")
EXPORT_PAGE_SIZE = MAX_PAGE
CSV = "text/csv"


class ApiError(Exception):
    """The API answered with an error, or could not be reached (status 0)."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []

    @property
    def unavailable(self) -> bool:
        """Whether the server or its database is away (worth trying again later)."""
        return self.status in (0, 502, 503, 504)


class ApiClient:
    """Read and write through the REST API; cache what was read until invalidated."""

    def __init__(
        self, base_url: str, token: str | None = None, timeout: float = 15.0, environ: Mapping[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._environ = environ
        self.timeout = timeout
        self.requests_sent = 0
        self._cache: dict[str, Any] = {}
        self._scoring: ScoringConfig | None = None
        # the server is our own: no HTTP(S)_PROXY from the environment stands between them
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ApiClient:
        """Build the client a page's kernel uses: the server's address and its token from its environment.

        Without HEALTHDASH_API_URL every request fails with an ApiError that says so. The token is read from the
        environment at each request: a preheated kernel learns it only once its page is requested.
        """
        return cls(environ.get(URL_VARIABLE, "").strip(), environ=environ)

    @property
    def token(self) -> str | None:
        """The token sent with every request: the one given, else the page's (or HEALTHDASH_API_TOKEN)."""
        if self._token is not None or self._environ is None:
            return self._token
        found = self._environ.get(PAGE_TOKEN_VARIABLE, "") or self._environ.get(TOKEN_VARIABLE, "")
        return found.strip() or None

    @property
    def role(self) -> str | None:
        """The role the page is shown for (None outside the pages, or before the page's request has arrived)."""
        role = (self._environ or {}).get(ROLE_VARIABLE, "").strip()
        return role if role in ROLES else None

    @property
    def may_record(self) -> bool:
        """Whether the page's visitor may record events (a viewer may not; outside the pages: with a token)."""
        if self.role is not None:
            return self.role != "viewer"
        return self.token is not None

    def invalidate(self) -> None:
        """Forget every cached answer: the next reads go to the server."""
        self._cache.clear()

    def dashboard(self, scope: str = "everyone") -> Dashboard:
        """Get the dashboard summary, of everyone's customers or (`mine`) the caller's own."""
        return parse_model(Dashboard, self._get("/api/dashboard", {"scope": scope} if scope != "everyone" else None))

    def customers(self, query: CustomerListQuery) -> CustomerList:
        """Get one page of the customer list for a filter, sort and page."""
        return parse_model(CustomerList, self._get("/api/customers", _query_params(query)))

    def all_customers(self, query: CustomerListQuery) -> Iterator[CustomerRow]:
        """Yield every customer matching a filter, page by page in the query's order (not cached)."""
        offset = 0
        while True:
            page_query = query.model_copy(update={"limit": EXPORT_PAGE_SIZE, "offset": offset})
            page = parse_model(CustomerList, self._get("/api/customers", _query_params(page_query), cache=False))
            yield from page.customers
            offset += len(page.customers)
            if not page.customers or offset >= page.total:
                return

    def scores(self, as_of: str | dt.date | dt.datetime | None = None) -> pd.DataFrame:
        """Get every customer's scores (now, or as of a day or moment) as a DataFrame indexed by customer id.

        Its columns are those of the API's CSV: the profile, `tier` and `main_reason`, the scores, and per factor its
        score (named by its key), `<key>_points` and `<key>_lost`; `attrs["as_of"]` holds the moment.
        """
        query = AsOfQuery.model_validate({} if as_of is None else {"as_of": as_of})
        url = self._url("/api/scores", _query_params(query))
        key = f"{CSV} {url}"
        if key not in self._cache:
            body, headers = self._request("GET", url, accept=CSV)
            self._cache[key] = scores_frame(body, headers.get("As-Of"))
        frame: pd.DataFrame = self._cache[key]
        return frame

    def scoring_config(self) -> ScoringConfig:
        """Get the scoring configuration the server uses (asked for once: it does not change while the server runs)."""
        if self._scoring is None:
            self._scoring = scoring_config_from(self._send("GET", "/api/scoring"))
        return self._scoring

    def health(self, customer_id: int) -> CustomerHealth | None:
        """Get one customer's health, breakdown and evidence; None when there is no such customer."""
        try:
            body = self._get(f"/api/customers/{int(customer_id)}/health")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return parse_model(CustomerHealth, body)

    def history(self, customer_id: int, days: int = 90) -> ScoreHistory | None:
        """Get one customer's score for each of the last `days` closed days; None when there is no such customer."""
        first = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)).isoformat()
        body = self._found(f"/api/customers/{int(customer_id)}/history", {"from": first})
        return None if body is None else parse_model(ScoreHistory, body)

    def changes(self, customer_id: int) -> ScoreChanges | None:
        """Get what moved one customer's score over the last 30 days; None when there is no such customer."""
        body = self._found(f"/api/customers/{int(customer_id)}/changes")
        return None if body is None else parse_model(ScoreChanges, body)

    def backtest(self, horizon: int, lead: int, first: dt.date | None = None) -> Backtest:
        """Get how well the score history foretold churn for a horizon and lead, judging the days from `first` (by
        default the server's range) to the last whose horizon has passed."""
        params = {"horizon": str(horizon), "lead": str(lead)}
        if first is not None:
            params["from"] = first.isoformat()
        return parse_model(Backtest, self._get("/api/backtest", params))

    def _found(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        try:
            return self._get(path, params)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def record_event(self, customer_id: int, event_type: str, data: Mapping[str, Any]) -> EventCreated:
        """Record an event for a customer (now) as the client's token's holder; invalidate the cache."""
        body = {"type": event_type, "data": dict(data)}
        answer = self._send("POST", f"/api/customers/{int(customer_id)}/events", body)
        self.invalidate()  # the customer's score, the list and the dashboard may all have changed
        return parse_model(EventCreated, answer)

    def _url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        return self.base_url + path + (f"?{urllib.parse.urlencode(sorted(params.items()))}" if params else "")

    def _get(self, path: str, params: Mapping[str, str] | None = None, cache: bool = True) -> Any:
        url = self._url(path, params)
        if cache and url in self._cache:
            return self._cache[url]
        answer = self._send("GET", url)
        if cache:
            self._cache[url] = answer
        return answer

    def _send(self, method: str, path_or_url: str, body: Any = None) -> Any:
        return json.loads(self._request(method, path_or_url, body)[0])

    def _request(
        self, method: str, path_or_url: str, body: Any = None, accept: str = "application/json"
    ) -> tuple[bytes, Mapping[str, str]]:
        """Send a request; return the answer's body and headers (ApiError for an error or no answer)."""
        if not self.base_url:
            raise ApiError(0, f"{URL_VARIABLE} is not set: open the pages through `python -m healthdash serve`")
        url = path_or_url if path_or_url.startswith(self.base_url) else self.base_url + path_or_url
        headers = {"Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        self.requests_sent += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.read(), response.headers
        except urllib.error.HTTPError as exc:
            raise _problem(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(0, f"the healthdash server at {self.base_url} cannot be reached ({reason})") from None


def _query_params(query: BaseModel) -> dict[str, str]:
    return {name: str(value) for name, value in query.model_dump(exclude_none=True).items()}


def _problem(error: urllib.error.HTTPError) -> ApiError:
    try:
        document = json.loads(error.read())
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    detail = str(document.get("detail") or error.reason or "the request failed")
    errors = document.get("errors")
    return ApiError(error.code, detail, errors if isinstance(errors, list) else None)


def scoring_config_from(body: Any) -> ScoringConfig:
    """Read GET /api/scoring's answer as a ScoringConfig, as an ApiError when it does not fit."""
    settings = parse_model(ScoringSettings, body)
    try:
        return ScoringConfig.from_mapping(settings.model_dump())
    except ConfigError as exc:
        raise ApiError(0, f"the server's scoring configuration does not fit this client: {exc}") from None


def scores_frame(body: bytes, as_of: str | None) -> pd.DataFrame:
    """Read GET /api/scores' CSV into a DataFrame indexed by customer id, names as they were before defusing."""
    import pandas as pd  # here, not at the top: the pages that never ask for a DataFrame do not load pandas

    # the columns with a dtype of their own; the others are numbers
    dtypes = {
        "name": "str",
        "segment": pd.CategoricalDtype(SEGMENTS),
        "plan": pd.CategoricalDtype(PLANS),
        "tier": pd.CategoricalDtype(TIERS),
        "main_reason": "object",
    }
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=dtypes, keep_default_na=False, na_values=[""])
        moment = dt.datetime.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise ApiError(0, f"the server's scores do not match the API: {exc}") from None
    if list(frame.columns) != list(SCORES_CSV_COLUMNS):
        raise ApiError(0, "the server's scores do not match the API: other columns")
    frame = frame.set_index("id")
    frame.attrs["as_of"] = moment
    quoted = frame["name"].str.startswith("'")
    if quoted.any():
        frame.loc[quoted, "name"] = frame.loc[quoted, "name"].map(restored)
    frame["main_reason"] = frame["main_reason"].where(frame["main_reason"].notna(), None)
    return frame


def parse_model(model: type[M], body: Any) -> M:
    """Validate an API answer against its response model, as an ApiError when it does not fit."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ApiError(0, f"the server's answer does not match the API: {exc.error_count()} error(s)") from None
