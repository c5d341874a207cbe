"""Browser tests in Debian's chromium, driven by Playwright's async API.

The async API, not the sync one: between its calls the sync API marks its own event loop as running,
and pytest-asyncio then refuses to run this suite's async fixtures (`_empty_tables`, `demo_tenants`)
on the session loop. Playwright never downloads a browser here: it starts `/usr/bin/chromium`
(or the path in PARBOARD_CHROMIUM). Without it the browser tests are skipped, loudly, or fail under CI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, Response, ViewportSize, async_playwright

from tests.support import LiveServer

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

    def on_csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)

    def on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def on_response(self, response: Response) -> None:
        if not self._same_origin(response.url) or response.status < 400:
            return
        if self.expected_statuses.get(response.url) != response.status:
            self.failed_requests.append(f"{response.request.method} {response.url}: HTTP {response.status}")

    def on_request_failed(self, request: Request) -> None:
        if self._same_origin(request.url):
            self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    @property
    def all(self) -> list[str]:
        return [
            *(f"console error: {text}" for text in self.console_errors),
            *(f"uncaught exception: {text}" for text in self.page_errors),
            *(f"CSP violation: {text}" for text in self.csp_violations),
            *(f"failed request: {text}" for text in self.failed_requests),
        ]

    def assert_clean(self) -> None:
        assert not self.all, "problems in the browser:\n" + "\n".join(self.all)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
def problems(dev_server: LiveServer) -> BrowserProblems:
    return BrowserProblems(origin=dev_server.url)


@pytest.fixture
async def page(browser: Browser, dev_server: LiveServer, problems: BrowserProblems) -> AsyncIterator[Page]:
    """A fresh context on the dev server (relative URLs work), every problem recorded in `problems`."""
    viewport: ViewportSize = {"width": 1280, "height": 800}
    context = await browser.new_context(base_url=dev_server.url, locale="vi-VN", viewport=viewport)
    context.set_default_timeout(5_000)
    await context.expose_function("__parboardCspViolation", problems.on_csp_violation)
    await context.add_init_script(CSP_LISTENER)
    page = await context.new_page()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    page.on("response", problems.on_response)
    page.on("requestfailed", problems.on_request_failed)
    yield page
    await context.close()
