"""The pages in Debian's Chromium (Playwright): live updates through the real worker,
concurrent edits, inline errors, and pages that load nothing but their own origin's files
under the site's strict Content-Security-Policy (any inline script or style would be
refused, and logged as a console error). Screenshots go to var/screenshots/."""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from positions.models import Position

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORDS = {
    "analyst": "redline-analyst-demo",
    "mediator": "redline-mediator-demo",
    "viewer": "redline-viewer-demo",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not at {CHROMIUM}"),
]


@dataclass
class Watch:
    """What a browser context did that it should not have."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    pages_without_strict_csp: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        return not (
            self.console_errors
            or self.foreign_requests
            or self.failed_responses
            or self.pages_without_strict_csp
        )

    def check_csp(self, response) -> None:
        """Every page is served under the strict policy, so a violation shows as an error."""
        if response.request.resource_type != "document":
            return
        policy = response.headers.get("content-security-policy", "")
        if "default-src 'self'" not in policy or "unsafe-inline" in policy:
            self.pages_without_strict_csp.append(f"{response.url}: {policy!r}")


@pytest.fixture
def demo_live(transactional_db, live_server, settings):
    """The demo talk on the live server, polled every second."""
    import io

    from django.core.management import call_command

    settings.LIVE_POLL_SECONDS = 1
    call_command("load_demo", stdout=io.StringIO())
    return live_server


@pytest.fixture
def open_as(new_context, demo_live) -> Iterator:
    """Sign a demo user in, in a fresh browser context; watch what its pages do."""
    watches: list[Watch] = []

    def _open(username: str, viewport: dict | None = None, password: str | None = None):
        context = new_context(base_url=demo_live.url, viewport=viewport or DESKTOP)
        watch = Watch(origin=demo_live.url)
        watches.append(watch)

        page = context.new_page()
        page.on(
            "console",
            lambda m: watch.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: watch.console_errors.append(str(e)))

        def on_request(request):
            if not request.url.startswith((watch.origin, "data:", "about:")):
                watch.foreign_requests.append(request.url)

        page.on("request", on_request)
        page.on(
            "response",
            lambda r: (
                watch.failed_responses.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.status != 409
                else None
            ),
        )
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password or PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        return page, watch

    yield _open
    for watch in watches:
        assert watch.clean(), watch


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def declared(issue: str, party: str) -> Position:
    return Position.objects.get(issue__key=issue, party__name=party, layer="declared")


def test_every_page_loads_clean_under_a_strict_csp(open_as):
    """No console error, no request to another origin, no failed load, on any page."""
    from playwright.sync_api import expect

    page, watch = open_as("analyst")
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if "/live/" in r.url else None)
    expect(page.get_by_role("heading", name="Your talks")).to_be_visible()
    page.get_by_role("link", name="Gaza ceasefire talks").click()
    expect(page.locator(".rollup")).to_contain_text("No whole deal yet")
    page.wait_for_function("document.querySelectorAll('#live').length === 1")
    page.wait_for_timeout(2500)  # a few polls: nothing changed, so each is a 304
    assert polls, "the dashboard did not poll"
    assert set(polls) == {304}, polls
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator(".board tbody tr")).to_have_count(5)  # a 304 swaps nothing away
    shot(page, "dashboard")

    for key, name in [
        ("prisoners", "issue-numeric"),
        ("withdrawal", "issue-ordinal"),
        ("governance", "issue-categorical"),
    ]:
        page.goto(f"/talks/gaza-ceasefire/issues/{key}/")
        expect(page.locator(".narrative")).not_to_be_empty()
        shot(page, name)
    expect(page.locator(".option-matrix")).to_be_visible()

    page.goto("/talks/gaza-ceasefire/issues/ceasefire/?layer=assessed")
    expect(page.locator("svg.scale-chart title").first).to_have_text(
        "Ceasefire duration: each principal's acceptable range"
    )
    position = declared("prisoners", "Israel")
    for path in [
        f"/talks/gaza-ceasefire/positions/{position.pk}/edit/",
        f"/talks/gaza-ceasefire/positions/{position.pk}/withdraw/",
        "/talks/gaza-ceasefire/issues/aid/positions/new/",
        "/talks/gaza-ceasefire/manage/issues/",
        "/talks/gaza-ceasefire/manage/issues/new/",
        "/talks/gaza-ceasefire/issues/withdrawal/edit/",
        "/talks/gaza-ceasefire/members/",
        "/talks/gaza-ceasefire/?round=2",
    ]:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert watch.clean(), watch

    phone, _ = open_as("mediator", viewport=PHONE)
    phone.goto("/talks/gaza-ceasefire/?layer=assessed")
    expect(phone.locator(".board")).to_contain_text("Troop withdrawal")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone layout scrolls sideways ({width}px)"
    shot(phone, "dashboard-phone")


def test_a_bad_value_shows_the_inline_error_and_saves_nothing(open_as):
    from playwright.sync_api import expect

    page, _ = open_as("analyst")
    position = declared("prisoners", "Israel")
    page.goto(f"/talks/gaza-ceasefire/positions/{position.pk}/edit/")
    page.get_by_label("Red line").fill("500")
    page.get_by_label("Change note").fill("a typo")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator("#id_red_line_error")
    expect(error).to_have_text("This value lies outside the issue's scale.")
    expect(page.get_by_label("Red line")).to_have_value("500")
    expect(page.get_by_label("Red line")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Change note")).to_have_value("a typo")
    position.refresh_from_db()
    assert (position.version, position.red_line_value) == (1, 60)
    assert position.revisions.count() == 1


def test_two_analysts_editing_one_position_lose_nothing(open_as, django_user_model):
    """The second to save sees both versions side by side and re-applies theirs on top."""
    from playwright.sync_api import expect

    from talks.models import Membership, Talk

    colleague = django_user_model.objects.create_user("colleague", password="colleague-pass")
    Membership.objects.create(
        user=colleague, talk=Talk.objects.get(slug="gaza-ceasefire"), role="analyst"
    )
    position = declared("prisoners", "Israel")
    url = f"/talks/gaza-ceasefire/positions/{position.pk}/edit/"
    first, _ = open_as("analyst")
    second, _ = open_as("colleague", password="colleague-pass")
    first.goto(url)
    second.goto(url)

    first.get_by_label("Red line").fill("35")
    first.get_by_label("Change note").fill("Israel edges up after the Doha round")
    first.get_by_role("button", name="Save changes").click()
    expect(first.locator(".messages")).to_contain_text("Saved Israel's declared position")

    second.get_by_label("Red line").fill("40")
    second.get_by_label("Rationale").fill("Hostage families press for a larger exchange.")
    second.get_by_label("Change note").fill("assessment after the briefing")
    second.get_by_role("button", name="Save changes").click()
    expect(second.get_by_role("heading", level=1)).to_contain_text("Someone else saved")
    red_line_row = second.locator('tr[data-field="red_line"]')
    expect(red_line_row).to_have_class(re.compile(r"\bdiffers\b"))
    expect(red_line_row.locator("td.theirs")).to_contain_text("35 prisoners per hostage")
    expect(red_line_row.locator("td.yours")).to_contain_text("40 prisoners per hostage")
    expect(second.locator(".conflict-banner")).to_contain_text("You both changed: Red line")
    expect(second.get_by_label("Red line")).to_have_value("40")
    expect(second.get_by_label("Rationale")).to_have_value(
        "Hostage families press for a larger exchange."
    )
    expect(second.get_by_label("Change note")).to_have_value("assessment after the briefing")
    shot(second, "conflict")
    position.refresh_from_db()
    assert (position.version, position.red_line_value) == (2, 35)  # theirs, untouched

    second.get_by_role("button", name="Save mine on top").click()
    expect(second.locator(".messages")).to_contain_text("(version 3)")
    position.refresh_from_db()
    assert position.version == 3
    assert position.red_line_value == 40
    assert position.rationale == "Hostage families press for a larger exchange."
    assert [r.note for r in position.revisions.order_by("version")][1:] == [
        "Israel edges up after the Doha round",
        "assessment after the briefing",
    ]


@pytest.mark.worker
def test_the_mediators_open_dashboard_shows_a_new_gap_without_reload(real_worker, open_as):
    """An analyst moves a red line in the browser; the real worker recomputes; the mediator's
    dashboard, open all along, shows the new gap by itself, and says when it is out of date."""
    from playwright.sync_api import expect

    from talks.models import Talk

    talk = Talk.objects.get(slug="gaza-ceasefire")
    real_worker.wait_until_fresh(talk)  # the demo's own recomputations
    mediator, watch = open_as("mediator")
    mediator.goto("/talks/gaza-ceasefire/")
    ceasefire = mediator.locator("tr", has=mediator.get_by_role("link", name="Ceasefire duration"))
    expect(ceasefire.locator(".status-cell .figure")).to_have_text("84%")  # 60 days vs permanent
    mediator.evaluate("window.stillTheSamePage = true")

    analyst, _ = open_as("analyst")
    position = declared("ceasefire", "Israel")
    analyst.goto(f"/talks/gaza-ceasefire/positions/{position.pk}/edit/")
    analyst.get_by_label("Red line").fill("200")
    analyst.get_by_label("Change note").fill("Israel would accept 200 days after the Cairo talks")
    analyst.get_by_role("button", name="Save changes").click()
    expect(analyst.locator(".messages")).to_contain_text("Saved")

    expect(ceasefire.locator(".status-cell .figure")).to_have_text("45%", timeout=30_000)
    expect(ceasefire.locator(".status-cell")).to_contain_text("narrowed")
    israel = ceasefire.locator('td[data-label="Israel"] .red-line')
    expect(israel).to_have_text("200 days")
    expect(mediator.locator(".changes")).to_contain_text("Israel would accept 200 days")
    assert mediator.evaluate("window.stillTheSamePage") is True  # swapped in, not reloaded
    summaries = real_worker.wait_until_fresh(talk)
    computed = next(s for s in summaries if s.issue.key == "ceasefire" and s.layer == "declared")
    assert computed.gap == pytest.approx(165 / 365, abs=1e-6)

    assert watch.clean(), watch
    mediator.route("**/live/**", lambda route: route.abort())
    expect(mediator.locator("#live-status")).to_have_attribute("data-state", "stale")
    expect(mediator.locator("#live-status")).to_contain_text("Out of date")
    mediator.unroute("**/live/**")
    expect(mediator.locator("#live-status")).to_have_attribute("data-state", "live")
    # The aborted polls were logged as failed loads (by the browser and by htmx), as they
    # should be; nothing else was.
    expected = ("Failed to load resource: net::ERR_FAILED", "htmx:afterRequest", "htmx:sendError")
    assert all(e.startswith(expected) for e in watch.console_errors), watch.console_errors
    watch.console_errors.clear()
