"""Browser tests: the real server (uvicorn on 127.0.0.1, a random port, SQLite in a temporary folder,
the example site) driven by Playwright with the system Chromium (``/usr/bin/chromium``, the Debian
package that ``make system-packages`` installs; never a browser downloaded by Playwright).

They skip when Chromium or the ``playwright`` package is missing, and fail instead under
``DURESS_REQUIRE_SERVICES=1`` (as ``.ci/run`` sets), like the other service tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.browser.support import LiveServer
from tests.web.support import PASSWORD

from duress.config.loader import load_site
from duress.domain.accounts import Role, Scope
from duress.service.accounts import Accounts, fast_hasher
from duress.service.bootstrap import build_runtime
from duress.testing import RecordingNotifier
from duress.web.app import create_app
from duress.web.auth import CookiePolicy

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "examples" / "mercy-general"
CHROMIUM = Path("/usr/bin/chromium")
IMAGES = ROOT / "docs" / "images"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The board's alarm is generated with WebAudio; let it play without a click in the tests.
    "--autoplay-policy=no-user-gesture-required",
]
USERS: dict[str, dict[str, Any]] = {
    "desk": {"role": Role.SECURITY_OPERATOR},
    # Benjamin Chen, the ED charge nurse: tier 1 of every ED alert pages him.
    "ben": {"role": Role.RESPONDER, "staff": "s-0031"},
    "icu-lead": {"role": Role.UNIT_MANAGER, "units": ["icu"]},
    "audrey": {"role": Role.AUDITOR},
}


def _unavailable(message: str) -> None:
    if os.environ.get("DURESS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} and DURESS_REQUIRE_SERVICES=1: run `make system-packages`")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[LiveServer]:
    """The whole server in a thread of this process, with its own event loop."""
    folder = tmp_path_factory.mktemp("browser-server")
    port = _free_port()
    runtime = build_runtime(
        load_site(SITE),
        store_url=f"sqlite:///{folder / 'duress.db'}",
        # Pagers that record what they are sent (no gateway on loopback needed).
        notifiers=[RecordingNotifier(c) for c in ("wctp", "sms", "email", "dashboard")],
    )
    accounts = Accounts.beside(
        runtime.store, clock=runtime.clock, record=runtime.record, hasher=fast_hasher()
    )
    app = create_app(runtime, accounts=accounts, cookies=CookiePolicy(secure="never"))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    live = LiveServer(url=f"http://127.0.0.1:{port}")
    ready = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        for name, spec in USERS.items():
            await accounts.add_user(
                name,
                PASSWORD,
                spec["role"],
                units=spec.get("units", ()),
                staff=spec.get("staff"),
                by="test",
            )
        await accounts.add_user("root", PASSWORD, Role.ADMIN, by="test")
        _, gateway = await accounts.issue_token("gw-test", [Scope.INGEST], by="test")
        _, reader = await accounts.issue_token(
            "root-read", [Scope.READ, Scope.ACT], user="root", by="test"
        )
        live.ingest = {"Authorization": f"Bearer {gateway}"}
        live.reader = {"Authorization": f"Bearer {reader}"}
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        ready.set()
        await serving

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # reported to the test, not lost in the thread
            failure.append(error)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="duress-test-server", daemon=True)
    thread.start()
    ready.wait(30)
    if failure or not server.started:
        raise RuntimeError(f"the test server did not start: {failure}")
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Chromium, per module: Playwright's sync API runs an event loop on this thread while it is
    open, which the asyncio tests of the next modules must not find running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), headless=True, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def sign_in(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """``sign_in(user, viewport=...)``: a new browser context signed in through the login page;
    every context is closed after the test."""
    contexts: list[Any] = []

    def open_as(user: str, *, viewport: dict[str, int] | None = None, path: str = "/") -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or {"width": 1400, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"/login?next={path}")
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{path}")
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def tidy(live_server: LiveServer) -> Iterator[None]:
    """Each test starts and ends with no open alert (they share one server)."""
    yield
    for alert in live_server.get("/api/v1/alerts", live_server.reader).json():
        live_server.post(
            f"/api/v1/alerts/{alert['id']}/resolve",
            {"code": "test", "note": "tidied up after a browser test"},
            live_server.reader,
        )


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """Where screenshots go: docs/images with DURESS_SCREENSHOTS=1 (to refresh the docs), else a
    temporary folder (a test run does not rewrite tracked files)."""
    if os.environ.get("DURESS_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        return IMAGES
    return tmp_path
