"""The browser harness itself: pages load from the live server alone, and a CDN is out of reach."""

from tests.e2e.conftest import screenshot


def test_the_home_page_loads_offline_from_our_server_only(browser_page, live_server):
    response = browser_page.goto("/")
    assert response.status == 200
    assert browser_page.title()
    assert browser_page.seen_hosts <= {"localhost"}
    failed = browser_page.evaluate("fetch('https://cdn.jsdelivr.net/npm/x').then(() => 'fetched', () => 'refused')")
    assert failed == "refused"
    assert screenshot(browser_page, "home").stat().st_size > 1000
