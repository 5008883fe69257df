"""Browser tests: Debian's Chromium driven by Python Playwright (no downloaded browser), offline.

Every host but the live test server is unresolvable, so a page that reaches for a CDN fails here.
Screenshots go to .stack/artifacts/e2e/ (git-ignored) for a person to look at.
"""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / ".stack" / "artifacts" / "e2e"


@pytest.fixture(scope="session")
def chromium():
    # Playwright's sync API keeps an event loop running in this thread; Django would then refuse the
    # tests' own (synchronous) database calls. The loop only waits on the browser, so they are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh page (own cookies) that records every request and every console error."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    page.seen_hosts = set()
    page.errors = []
    page.on("request", lambda request: page.seen_hosts.add(urlparse(request.url).hostname))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()


def login(page, client, user) -> None:
    """Sign the browser in as ``user`` with a session made by the Django test client."""
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "domain": "localhost",
                               "path": "/"}])


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
