"""One server for both: the API's routes sit in front of Voila's without taking any of Voila's away."""

from __future__ import annotations

from tests.api.client import call, problem
from tests.servers import RunningServer

KERNEL = "0b9e7a7e-8c1e-4d8f-9c55-7b7f5a0a7e11"


def test_the_home_page_redirects_to_the_dashboard_notebook(server: RunningServer) -> None:
    reply = call(server, "GET", "/")
    assert reply.status == 302  # temporary: browsers must not remember it for good
    assert reply.headers["Location"] == "/voila/render/dashboard.ipynb"


def test_an_unknown_api_path_is_a_problem_document(server: RunningServer) -> None:
    for path in ("/api/whatever", "/api/", "/api/customers/1/unknown", "/api/kernelsx"):
        document = problem(call(server, "GET", path), 404)
        assert path in document["detail"]


def test_voilas_kernel_routes_still_belong_to_voila(server: RunningServer) -> None:
    reply = call(server, "GET", f"/api/kernels/{KERNEL}")
    assert reply.status == 404
    assert "no API endpoint" not in reply.json()["detail"]  # Jupyter's kernel route answered, not our catch-all
    assert "no API endpoint" in call(server, "GET", "/api/kernelz").json()["detail"]
    channels = call(server, "GET", f"/api/kernels/{KERNEL}/channels")
    assert "no API endpoint" not in channels.json()["detail"]
    assert call(server, "DELETE", f"/api/kernels/{KERNEL}").status == 403  # no kernel control from outside


def test_answers_are_utf8_json_and_not_cached_by_clients(server: RunningServer) -> None:
    reply = call(server, "GET", "/api/customers", params={"limit": 500})
    assert reply.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    reply.body.decode("utf-8")
    problem = call(server, "GET", "/api/nothing-here")
    assert problem.headers["X-Content-Type-Options"] == "nosniff"
