"""How the app configures Voila: its port, preheated kernels, culling, its own template, and the shutdown cookie."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbformat.sign import MemorySignatureStore

from healthdash.app import (
    FIRST_READS,
    NOTEBOOKS,
    TEMPLATES,
    _local_address,
    api_url,
    listening_sockets,
    validation_backtest,
    voila_config,
)
from healthdash.notary import PagesNotary
from healthdash.page_warmup import warm_api
from healthdash.settings import load_settings
from tests.api.client import call
from tests.web.conftest import WebApp


def test_port_zero_listens_on_a_free_port_and_names_it_everywhere() -> None:
    sockets, settings = listening_sockets(load_settings({"HEALTHDASH_PORT": "0"}))
    try:
        port = sockets[0].getsockname()[1]
        assert port > 0 and settings.port == port
        assert api_url(settings) == f"http://127.0.0.1:{port}"  # the address printed and given to the kernels
        assert voila_config(settings).Voila.port == port  # what Voila hands its preheated kernels
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            listening_sockets(settings)
    finally:
        for sock in sockets:
            sock.close()


def test_every_page_keeps_preheated_kernels_and_idle_ones_are_culled() -> None:
    config = voila_config(load_settings({"HEALTHDASH_KERNEL_POOL_SIZE": "2", "HEALTHDASH_KERNEL_IDLE_TIMEOUT": "300"}))
    assert config.VoilaConfiguration.preheat_kernel is True
    assert config.VoilaConfiguration.default_pool_size == 0  # Voila's own pool: the app's PageKernels keeps them
    assert config.PageKernels.pool_sizes == {
        "dashboard.ipynb": 3,  # the home page keeps more, for a burst of visitors
        "customers.ipynb": 2,
        "customer.ipynb": 2,
        "explore.ipynb": 2,
        "validation.ipynb": 2,
    }
    assert config.PageKernels.pool_size == 0  # the analysis notebooks are for JupyterLab: none kept for them
    assert config.MappingKernelManager.cull_idle_timeout == 300
    assert config.MappingKernelManager.cull_interval == 60
    assert config.MappingKernelManager.cull_connected is True  # an open page that sends nothing keeps no kernel
    assert config.VoilaKernelManager.default_env_variables == {"VOILA_APP_IP": "127.0.0.1"}


def test_a_pool_size_of_zero_starts_a_kernel_per_page_view() -> None:
    config = voila_config(load_settings({"HEALTHDASH_KERNEL_POOL_SIZE": "0"}))
    assert config.VoilaConfiguration.preheat_kernel is False


def test_each_page_may_keep_a_pool_of_its_own_size() -> None:
    settings = load_settings({"HEALTHDASH_KERNEL_POOL_SIZE": "0", "HEALTHDASH_KERNEL_POOL_SIZES": "customer=2"})
    config = voila_config(settings)
    assert config.VoilaConfiguration.preheat_kernel is True
    assert config.PageKernels.pool_sizes == {
        "dashboard.ipynb": 0,
        "customers.ipynb": 0,
        "customer.ipynb": 2,
        "explore.ipynb": 0,
        "validation.ipynb": 0,
    }


def test_pages_render_with_the_app_template_only() -> None:
    config = voila_config(load_settings({}))
    assert config.VoilaConfiguration.template == "lab"
    assert config.VoilaConfiguration.allow_template_override == "NO"
    assert config.VoilaConfiguration.allow_theme_override == "NO"
    assert (TEMPLATES / "index.html.j2").is_file()


@pytest.mark.parametrize(
    ("host", "address"),
    [("0.0.0.0", "127.0.0.1"), ("::", "[::1]"), ("::1", "[::1]"), ("10.0.0.7", "10.0.0.7"), ("localhost", "localhost")],
)
def test_kernels_reach_the_server_on_a_local_address(host: str, address: str) -> None:
    assert _local_address(host) == address
    settings = dataclasses.replace(load_settings({}), host=host)
    assert voila_config(settings).VoilaKernelManager.default_env_variables == {"VOILA_APP_IP": address}


def fetch_page(app: WebApp, path: str) -> tuple[str, list[str]]:
    request = urllib.request.Request(app.url + path, headers=app.server.authorization)
    with urllib.request.urlopen(request, timeout=120) as answer:
        return answer.read().decode("utf-8"), answer.headers.get_all("Set-Cookie") or []


def test_a_page_asks_nothing_of_the_internet_and_hides_its_code(app: WebApp) -> None:
    html, cookies = fetch_page(app, "/voila/render/customer.ipynb?id=1&template=lab&theme=dark")
    assert "https://" not in html
    assert "fontawesome" not in html
    assert "from healthdash.widgets import" not in html  # sources are stripped
    assert "theme-dark" not in html
    assert any(cookie.startswith("_xsrf=") for cookie in cookies)  # for the page's kernel-shutdown request


def test_kernels_talk_to_the_server_over_unix_sockets() -> None:
    config = voila_config(load_settings({}))
    assert config.KernelManager.transport == "ipc"


def test_a_start_and_page_views_log_no_warning_a_newcomer_would_worry_about(app: WebApp) -> None:
    fetch_page(app, "/voila/render/dashboard.ipynb")
    log = app.server.log.read_text(errors="replace")
    assert "Kernel pool of dashboard.ipynb is filled" in log  # the log read is the one of a server that served pages
    assert "is not trusted" not in log
    assert "without encryption" not in log
    assert "WARNING" not in log
    assert "could not read" not in log and "could not render" not in log  # what it reads before serving answered


def test_what_the_pages_read_first_is_read_before_serving_and_a_failure_is_only_logged(app: WebApp) -> None:
    paths = [*FIRST_READS, validation_backtest(), "/api/no-such-route"]
    with ThreadPoolExecutor(1) as apart:  # a loop of its own: the browser tests' may be running in this thread
        statuses = apart.submit(asyncio.run, warm_api(app.server.url, paths, app.server.token)).result()
        refused = apart.submit(asyncio.run, warm_api("http://127.0.0.1:9", ["/api/dashboard"], "x")).result()
    assert statuses == {**dict.fromkeys(paths[:-1], 200), "/api/no-such-route": 404}
    assert refused == {"/api/dashboard": 0}


def test_page_notebooks_are_trusted_without_a_signature_database_on_disk() -> None:
    notary = PagesNotary()  # type: ignore[no-untyped-call]
    notebook = nbformat.read(NOTEBOOKS / "dashboard.ipynb", as_version=4)
    assert notary.check_signature(notebook) is True
    assert isinstance(notary.store, MemorySignatureStore)


def test_the_address_is_announced_once_every_page_has_a_preheated_kernel(app: WebApp) -> None:
    # `make run` shows the address a newcomer opens: by then the first visitor of any page finds its kernel ready
    log = app.server.log.read_text(errors="replace")
    announced = log.index("healthdash is serving")
    for notebook in sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")):
        filled = log.find(f"Kernel pool of {notebook} is filled")
        assert 0 <= filled < announced, notebook


def test_the_browser_keeps_the_extension_files_named_by_their_content(app: WebApp) -> None:
    html, _ = fetch_page(app, "/voila/render/dashboard.ipynb")
    config = re.search(r'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', html, re.S)
    assert config, html[:300]
    extensions = json.loads(config[1])["federated_extensions"]
    widgets = next(e for e in extensions if e["name"] == "@jupyter-widgets/jupyterlab-manager")
    folder = f"/voila/labextensions/{widgets['name']}/"
    named = call(app.server, "GET", folder + widgets["load"])  # static/remoteEntry.<hash of its content>.js
    assert named.status == 200 and named.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    versioned = call(app.server, "GET", folder + "static/style.js?v=1")
    assert "immutable" in versioned.headers["Cache-Control"]
    plain = call(app.server, "GET", folder + "static/style.js")  # may change with the extension: asked again
    assert plain.status == 200 and plain.headers["Cache-Control"] == "no-cache"
