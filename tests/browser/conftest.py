"""Browser tests: Playwright for Python driving Debian's Chromium against a real server.

``site`` starts the app as ``make run`` does, on a fresh SQLite database with crm_standard,
the demo organisation and the demo records, served by Werkzeug on 127.0.0.1 (a free port)
with the worker running due jobs in a thread. ``browser`` is Chromium from
``/usr/bin/chromium`` (``playwright install`` cannot download here; ``make browser``
installs Debian's chromium and the CJK fonts). ``desk`` and ``phone`` open a page at
1280 and 375 pixels wide; every page fails the test on a JavaScript error or a CSP
violation. ``shoot(page, name)`` saves a screenshot to ``tests/browser/screenshots/``
(git-ignored; TRELLIS_SCREENSHOTS moves it) for a reviewer to look at.

The browser tests run on SQLite only: what they add is the browser, and every page's
behaviour on PostgreSQL is covered by tests/web.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("TRELLIS_SCREENSHOTS", Path(__file__).parent / "screenshots"))
DESK = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 740}
PASSWORD = "trellis-demo"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Site:
    url: str
    app: object
    problems: list[str] = field(default_factory=list)

    @property
    def runtime(self):
        return self.app.extensions["trellis"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from trellis.flows.worker import Worker
    from trellis.metadata.packs import locate
    from trellis.runtime import sample_data
    from trellis.runtime.app import create_app
    from trellis.runtime.platform_runtime import Runtime

    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'trellis.db'}"
    rt = Runtime(url)
    rt.metadata.init_database()
    rt.metadata.install_pack("crm_standard")
    crm = locate("crm_standard") / "sample_data"
    sample_data.load_org(rt, crm, PASSWORD)
    sample_data.load_records(rt, crm, "admin")
    rt.dispose()
    saved = {k: os.environ.get(k) for k in ("TRELLIS_INSTANCE_PATH", "TRELLIS_SECRET_KEY")}
    os.environ["TRELLIS_INSTANCE_PATH"] = str(folder / "instance")
    os.environ["TRELLIS_SECRET_KEY"] = "browser-tests-only"
    app = create_app({"DATABASE_URL": url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    stop = threading.Event()
    worker = Worker(app.extensions["trellis"], name="browser-tests")
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=worker.run_forever, args=(stop, 0.5), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        yield Site(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        stop.set()
        server.shutdown()
        for t in threads:
            t.join(timeout=30)
        app.extensions["trellis"].dispose()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, site: Site, viewport: dict, locale: str = "zh-CN"):
    context = browser.new_context(viewport=viewport, locale=locale, base_url=site.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on("console", lambda msg: _console(msg, problems))
    page.problems = problems  # type: ignore[attr-defined]
    return context, page


#: Pages answer a sent form with 401, 409, 412 or 422 on purpose (wrong password, duplicate
#: warning, stale edit, field errors); the browser logs those as failed loads.
INTENDED = ("status of 401", "status of 409", "status of 412", "status of 422")


def _console(msg, problems: list[str]) -> None:
    if msg.type != "error":
        return
    if msg.text.startswith("Failed to load resource") and any(s in msg.text for s in INTENDED):
        return
    problems.append(f"console {msg.type}: {msg.text}")


@pytest.fixture
def desk(browser, site) -> Iterator:
    context, page = _open(browser, site, DESK)
    yield page
    context.close()
    assert not page.problems, page.problems


@pytest.fixture
def phone(browser, site) -> Iterator:
    context, page = _open(browser, site, PHONE)
    yield page
    context.close()
    assert not page.problems, page.problems


@pytest.fixture
def new_page(browser, site):
    """Open more pages (another user at the same time): ``new_page(DESK)``."""
    opened = []

    def make(viewport=DESK, locale="zh-CN"):
        context, page = _open(browser, site, viewport, locale)
        opened.append((context, page))
        return page

    yield make
    for context, _page in opened:
        context.close()
    for _context, page in opened:
        assert not page.problems, page.problems


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url)


def shoot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = SCREENSHOTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fits_width(page) -> bool:
    """Nothing sticks out sideways: the page scrolls only vertically."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


def drag_above(page, source, target, grip=None) -> None:
    """Press on ``source`` (or on its ``grip``, a drag handle inside it), move in small
    steps to just above ``target`` and let go, as a hand does (SortableJS starts a drag only
    after the pointer has really moved).

    SortableJS ignores the pointer while a swap still animates, so over the target the
    pointer nudges (up to thirty times, 0.1 s apart: on a loaded CI machine the drag can
    take a second to start) until the source is placed before it.
    """
    start, end = (grip or source).bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y - 10, steps=5)
    page.mouse.move(end["x"] + 20, end["y"] + 5, steps=25)
    for nudge in range(30):
        page.mouse.move(end["x"] + 20, end["y"] + 2 + (nudge % 2) * 2, steps=3)
        if _placed_before(source, target):
            break
        page.wait_for_timeout(100)
    page.mouse.up()


def _placed_before(source, target) -> bool:
    return source.evaluate(
        "(s, t) => !!(s.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING)",
        target.element_handle(),
    )


class Helpers:
    """Functions the test modules use (importlib mode: they cannot import a conftest)."""

    sign_in = staticmethod(sign_in)
    shoot = staticmethod(shoot)
    fits_width = staticmethod(fits_width)
    drag_above = staticmethod(drag_above)
    DESK = DESK
    PHONE = PHONE


@pytest.fixture
def ui() -> type[Helpers]:
    return Helpers
