"""Browser tests in Debian's chromium, driven by Playwright's async API, against a live stack.

The stack is what `make run` serves: the development identity provider (one issuer per province) and
parboard in development mode, each on its own port of 127.0.0.1, with the demo tenants synced so that
every province signs in through its issuer there. The browser signs in for real: parboard's sign-in
page, the provider's page, the code flow back to parboard.

The async API, not the sync one: between its calls the sync API marks its own event loop as running,
and pytest-asyncio then refuses to run this suite's async fixtures (`_empty_tables`, `live_tenants`)
on the session loop. Playwright never downloads a browser here: it starts `/usr/bin/chromium`
(or the path in PARBOARD_CHROMIUM). Without it the browser tests are skipped, loudly, or fail under CI.

A test that fails leaves its Playwright trace (the DOM before and after each action, the network, the
console) and a screenshot under var/e2e-traces/; open the trace with `playwright show-trace <zip>`.
PARBOARD_E2E_TRACES=all keeps them for every test (to see where time goes on a slow machine).
A crash of Chromium (a page's renderer, or the whole browser) fails the test that saw it with a message
that says so, and the next test gets a freshly launched browser: a crash is never retried silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    async_playwright,
    expect,
)
from playwright.async_api import Error as PlaywrightError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth.services import DEV_CLIENT_SECRET
from backend.db.runtime import DatabaseUrls
from backend.devidp import DevClient, create_dev_idp, dev_idp_of, dev_provinces_from_config
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.tenants.config import load_directory, with_issuer_base
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT, AuthSettings
from tests.support import LiveServer, free_port, make_settings

DEMO_TENANTS = PROJECT_ROOT / "tenants"
CHROMIUM = Path(os.environ.get("PARBOARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling Google's services, and floods the closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRACES = PROJECT_ROOT / "var" / "e2e-traces"
MISSING = f"{CHROMIUM} not found — apt-get install chromium"
SKIP_REASON = f"BROWSER TESTS SKIPPED: {MISSING}"
CI_FAILURE = f"chromium missing under CI: {MISSING}"

# Reports every CSP violation of the page to Python (page scripts cannot silence it: CDP injects it).
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__parboardCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture starts (PostgreSQL, the server): no chromium, no browser test."""
    if item.get_closest_marker("browser") is None or CHROMIUM.is_file():
        return
    if _under_ci():
        pytest.fail(CI_FAILURE, pytrace=False)
    pytest.skip(SKIP_REASON)


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_PROBLEMS = pytest.StashKey["BrowserProblems"]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each phase's report kept on the item (the page fixture saves a trace when the test failed), and a
    crash of Chromium during the test turned into a failure that names it, whatever the test said."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    problems = item.stash.get(_PROBLEMS, None)
    if report.when == "call" and problems is not None and problems.crashes:
        crashes = "; ".join(problems.crashes)
        report.outcome = "failed"
        report.longrepr = f"CHROMIUM CRASHED during the test: {crashes}\n\n{report.longrepr or ''}"
    return report


def _failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(_REPORTS, {}).values())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A banner nobody can miss when browser tests did not run for want of chromium."""

    def count(outcome: str, text: str) -> int:
        return sum(text in str(report.longrepr) for report in terminalreporter.stats.get(outcome, []))

    def banner(text: str, *, red: bool) -> None:
        terminalreporter.write_sep("!", red=red, yellow=not red, bold=True)
        terminalreporter.write_line(f"!!! {text} !!!", red=red, yellow=not red, bold=True)
        terminalreporter.write_sep("!", red=red, yellow=not red, bold=True)

    skipped, failed = count("skipped", SKIP_REASON), count("error", CI_FAILURE)
    if skipped:
        banner(f"{SKIP_REASON} ({skipped} tests)", red=False)
    if failed:
        banner(f"BROWSER TESTS FAILED: {CI_FAILURE} ({failed} tests)", red=True)


@dataclass
class BrowserProblems:
    """What went wrong in the page: console errors, uncaught exceptions, CSP violations, failed requests."""

    origin: str
    expected_statuses: dict[str, int] = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    csp_reported: asyncio.Event = field(default_factory=asyncio.Event)  # set once a violation has reached Python

    def expect_status(self, url: str, status: int) -> None:
        """`url` answering `status` (an error page under test) is not a problem, nor Chromium's log of it."""
        self.expected_statuses[url] = status

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and where in self.expected_statuses:
            return
        self.console_errors.append(f"{message.text} ({where}:{message.location.get('lineNumber')})")

    def on_crash(self, page: Page) -> None:
        self.crashes.append(f"the page's renderer crashed at {page.url}")

    def on_disconnected(self, browser: Browser) -> None:
        self.crashes.append("the browser process died (disconnected)")

    def on_csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)
        self.csp_reported.set()

    def on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def on_response(self, response: Response) -> None:
        if not self._same_origin(response.url) or response.status < 400:
            return
        if self.expected_statuses.get(response.url) != response.status:
            self.failed_requests.append(f"{response.request.method} {response.url}: HTTP {response.status}")

    def on_request_failed(self, request: Request) -> None:
        # ERR_ABORTED: the page navigated away (a sign-in redirect) while a subresource such as the
        # favicon was still loading; the server did not fail it.
        if self._same_origin(request.url) and request.failure != "net::ERR_ABORTED":
            self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    @property
    def all(self) -> list[str]:
        return [
            *(f"console error: {text}" for text in self.console_errors),
            *(f"uncaught exception: {text}" for text in self.page_errors),
            *(f"CSP violation: {text}" for text in self.csp_violations),
            *(f"failed request: {text}" for text in self.failed_requests),
            *(f"CHROMIUM CRASHED: {text}" for text in self.crashes),
        ]

    def assert_clean(self) -> None:
        assert not self.all, "problems in the browser:\n" + "\n".join(self.all)


@dataclass
class Chromium:
    """One Chromium for the session, launched again for the next test if it died (a crash)."""

    playwright: Playwright
    current: Browser | None = None

    async def running(self) -> Browser:
        if self.current is None or not self.current.is_connected():
            self.current = await self.playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
        return self.current


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Chromium]:
    async with async_playwright() as playwright:
        chromium = Chromium(playwright)
        yield chromium
        if chromium.current is not None:
            await chromium.current.close()


@pytest.fixture
async def browser(chromium: Chromium, problems: BrowserProblems) -> AsyncIterator[Browser]:
    """The running Chromium; its death during the test is recorded in `problems` (a crash)."""
    browser = await chromium.running()
    browser.on("disconnected", problems.on_disconnected)
    yield browser
    browser.remove_listener("disconnected", problems.on_disconnected)


@dataclass(frozen=True)
class LiveStack:
    """parboard and the development identity provider, each served on its own port of 127.0.0.1."""

    url: str  # parboard, as the browser reaches it (= its public URL)
    idp_url: str  # the provider: each province's issuer is f"{idp_url}/{province code}"


@pytest.fixture(scope="session")
def dev_idp() -> Iterator[LiveServer]:
    """The development identity provider, its issuers following the port it got."""
    provinces = dev_provinces_from_config(load_directory(DEMO_TENANTS))
    app = create_dev_idp(provinces, [], base_url="http://127.0.0.1")
    with LiveServer(app) as server:
        dev_idp_of(app).base_url = server.url
        yield server


@pytest.fixture(scope="session")
def live_stack(database: DatabaseUrls, dev_idp: LiveServer) -> Iterator[LiveStack]:
    """parboard in development mode, signing in through `dev_idp`, registered there as its client.

    Its public URL (the redirect URIs are built from it) must be known before the app exists: the port
    is picked first, then given to the server."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    # Constructed here, not read from the environment (load_settings): both URLs are only known now.
    auth = AuthSettings(public_url=public_url, dev_idp_url=dev_idp.url)
    app = create_app(make_settings(env="development", auth=auth), database)
    loaded = load_directory(DEMO_TENANTS)
    dev_idp_of(dev_idp.app).register_client(
        DevClient(
            client_id="parboard",
            client_secret=DEV_CLIENT_SECRET,
            redirect_uris=[f"{public_url}/auth/{p.config.province.code}/callback" for p in loaded],
            post_logout_redirect_uris=[f"{public_url}/"],
        )
    )
    with LiveServer(app, port=port) as server:
        assert server.url == public_url
        yield LiveStack(url=public_url, idp_url=dev_idp.url)


@pytest.fixture
async def live_tenants(owner_engine: AsyncEngine, dev_idp: LiveServer) -> None:
    """The demo tenants and people, every province's issuer pointed at the provider (as `make run` does)."""
    await sync_tenants(owner_engine, with_issuer_base(load_directory(DEMO_TENANTS), dev_idp.url), demo_people=True)


@pytest.fixture
async def criteria(owner_engine: AsyncEngine, live_tenants: None) -> None:
    """The provinces' criteria sets, after the live tenants (a set belongs to its province)."""
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))


@pytest.fixture
def problems(request: pytest.FixtureRequest, live_stack: LiveStack) -> BrowserProblems:
    problems = BrowserProblems(origin=live_stack.url)
    request.node.stash[_PROBLEMS] = problems
    return problems


@pytest.fixture
async def page(
    request: pytest.FixtureRequest,
    browser: Browser,
    live_stack: LiveStack,
    live_tenants: None,
    problems: BrowserProblems,
) -> AsyncIterator[Page]:
    """A fresh context on parboard (relative URLs work), every problem recorded in `problems`.

    The CSP listener and the console, error and failure handlers apply to the provider's pages too;
    only the failed requests are limited to parboard's origin (`BrowserProblems.origin`)."""
    context, page = await _watched_page(browser, live_stack, problems)
    # The provider's pages declare no icon, so Chromium asks for its /favicon.ico (parboard's declare one).
    problems.expect_status(f"{live_stack.idp_url}/favicon.ico", 404)
    yield page
    await _close(request.node, context, "page")


@pytest.fixture
async def new_page(
    request: pytest.FixtureRequest,
    browser: Browser,
    live_stack: LiveStack,
    live_tenants: None,
    problems: BrowserProblems,
) -> AsyncIterator[Callable[[], Awaitable[Page]]]:
    """More pages, each in its own context (its own person), watched like the `page` fixture's."""
    contexts: list[BrowserContext] = []

    async def make() -> Page:
        context, page = await _watched_page(browser, live_stack, problems)
        contexts.append(context)
        return page

    yield make
    for number, context in enumerate(contexts, start=2):
        await _close(request.node, context, f"page-{number}")


async def _watched_page(
    browser: Browser, live_stack: LiveStack, problems: BrowserProblems
) -> tuple[BrowserContext, Page]:
    """A new context on parboard (relative URLs work) and its page, every problem recorded in `problems`,
    traced (kept only if the test fails)."""
    viewport: ViewportSize = {"width": 1280, "height": 800}
    context = await browser.new_context(base_url=live_stack.url, locale="vi-VN", viewport=viewport)
    context.set_default_timeout(5_000)
    await context.tracing.start(snapshots=True)
    return context, await watched_page(context, problems)


async def watched_page(context: BrowserContext, problems: BrowserProblems) -> Page:
    """A new page of `context` whose every problem (console error, CSP violation, failed request or response,
    crash) is recorded in `problems`."""
    await context.expose_function("__parboardCspViolation", problems.on_csp_violation)
    await context.add_init_script(CSP_LISTENER)
    page = await context.new_page()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    page.on("response", problems.on_response)
    page.on("requestfailed", problems.on_request_failed)
    page.on("crash", problems.on_crash)
    return page


async def _close(item: pytest.Item, context: BrowserContext, name: str) -> None:
    """Close the context; if the test failed, first save its trace and a screenshot of each of its pages
    under var/e2e-traces/<test>/. A context of a crashed browser saves what it still can."""
    if _failed(item) or os.environ.get("PARBOARD_E2E_TRACES") == "all":
        where = TRACES / re.sub(r"[^\w.-]+", "_", item.nodeid)
        where.mkdir(parents=True, exist_ok=True)
        for number, page in enumerate(context.pages, start=1):
            # a crashed page has nothing to show; the trace still has what came before
            with contextlib.suppress(PlaywrightError):
                await page.screenshot(path=where / f"{name}-{number}.png", full_page=True, timeout=5_000)
        with contextlib.suppress(PlaywrightError):
            await context.tracing.stop(path=where / f"{name}-trace.zip")
    with contextlib.suppress(PlaywrightError):  # its browser died: the test already failed, naming the crash
        await context.close()


SIGN_IN_CHAIN_MS = 20_000


async def sign_in_through_provider(page: Page, stack: LiveStack, name: str) -> None:
    """As a person would: parboard's sign-in page, "Đăng nhập" on their row of the demo people, then
    themselves on the provider's page; back on parboard wherever the sign-in sends them."""
    await page.goto("/dang-nhap")
    person = page.get_by_role("region", name=re.compile("^Người dùng mẫu")).get_by_role("row").filter(has_text=name)
    await expect(person).to_have_count(1)
    await person.get_by_role("link", name="Đăng nhập", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(stack.idp_url)}/[a-z0-9-]+/authorize\?"))
    # One click, then three answers and a back-channel exchange: the provider's redirect, parboard's callback
    # (the code exchanged for tokens over HTTP, the provider's keys fetched once, the session written) and the
    # page it sends to. That chain, not one action, is what the wait below bounds: under a load average of 15 it
    # took 6 s, longer than one action's 5 s (traces of the loaded runs, 06/12/2026).
    await page.get_by_role("button", name=f"Đăng nhập với tư cách {name}", exact=True).click(no_wait_after=True)
    await page.wait_for_url(re.compile(rf"^{re.escape(stack.url)}/"), timeout=SIGN_IN_CHAIN_MS)
