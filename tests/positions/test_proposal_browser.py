"""A mediator builds a package in Chromium: each term edit re-evaluates in place, under the
site's strict CSP (the helpers of tests/talks/test_browser.py watch for console errors,
requests to other origins and failed loads). Screenshots go to var/screenshots/."""

from pathlib import Path

import pytest

from positions.models import Proposal
from tests.talks import test_browser as browser

# The live demo and the signed-in, watched browser contexts of the page tests.
demo_live = browser.demo_live
open_as = browser.open_as
shot = browser.shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(browser.CHROMIUM).exists(), reason=f"Chromium is not at {browser.CHROMIUM}"
    ),
]


def test_a_mediator_builds_a_package_and_sees_a_term_turn_from_rejected_to_accepted(open_as):
    from playwright.sync_api import expect

    page, watch = open_as("mediator")
    page.goto("/talks/gaza-ceasefire/proposals/")
    page.get_by_role("link", name="New proposal").click()
    page.get_by_label("Title").fill("Cairo package")
    page.get_by_label("Mediating party").select_option(label="Egypt")
    page.get_by_role("button", name="Draft it").click()
    expect(page.locator(".messages")).to_contain_text("Drafted “Cairo package”")
    page.evaluate("window.stillTheSamePage = true")

    # 80 prisoners per hostage: within Hamas's limits, 20 past Israel's declared red line.
    prisoners = page.get_by_label("Prisoner-exchange ratio, phase 1")
    prisoners.fill("80")
    prisoners.press("Tab")
    israel = page.locator('#evaluation tr[data-term="prisoners-1"] td[data-party="Israel"]')
    expect(israel).to_contain_text("Rejects")
    expect(israel).to_contain_text("20 prisoners per hostage beyond its red line")
    expect(page.locator('[data-verdict="blocked"]')).to_be_visible()
    expect(page.locator("#builder")).to_have_attribute("data-version", "2")

    page.get_by_label("Prisoner-exchange ratio, phase 1").fill("55")
    page.get_by_label("Prisoner-exchange ratio, phase 1").press("Enter")
    expect(israel).to_contain_text("Accepts")
    expect(israel).to_contain_text("concedes 45 prisoners per hostage from its demand")
    expect(page.locator('[data-verdict="acceptable"]')).to_be_visible()
    expect(page.locator("#builder")).to_have_attribute("data-version", "3")
    expect(page.locator(".conflict-banner")).to_have_count(0)  # Enter's change and submit

    # An option: Hamas rejects a phased withdrawal, and Israel's linkage on governance
    # breaks for want of a governance term.
    page.get_by_label("Troop withdrawal, phase 1").select_option(
        label="full withdrawal with security arrangements"
    )
    hamas = page.locator('#evaluation tr[data-term="withdrawal-1"] td[data-party="Hamas"]')
    expect(hamas).to_contain_text("1 step beyond its red line")
    expect(page.locator(".blockers")).to_contain_text(
        "Israel's condition on Troop withdrawal fails (phase 1): nothing is set on "
        "Post-conflict governance"
    )
    page.get_by_label("Post-conflict governance, phase 1").select_option(
        label="an international or Arab force"
    )
    expect(page.locator("#builder")).to_have_attribute("data-version", "5")
    page.locator(".phase-add").get_by_label("Title").fill("Permanent ceasefire")
    page.locator(".phase-add").get_by_label("Trigger").fill("Every living hostage released.")
    page.get_by_role("button", name="Add the phase").click()
    expect(page.locator(".term-table thead")).to_contain_text("Permanent ceasefire")
    page.get_by_label("Ceasefire duration, phase 2").fill("365")
    page.get_by_label("Ceasefire duration, phase 2").press("Tab")
    expect(page.locator("#builder")).to_have_attribute("data-version", "7")
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in, never reloaded
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "proposal-builder")

    proposal = Proposal.objects.get(title="Cairo package")
    assert proposal.version == 7
    assert [r.note for r in proposal.revisions.order_by("version")][1:3] == [
        "Term on prisoners, phase 1, set to 80.",
        "Term on prisoners, phase 1, set to 55.",
    ]

    page.goto(f"/talks/gaza-ceasefire/proposals/{proposal.pk}/")
    page.get_by_label("With another proposal").select_option(label="Phased framework (shared, v1)")
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare proposals")
    changed = page.locator("table.compare-terms tr.changed")
    expect(changed.first).to_be_visible()
    prisoners_row = page.locator("table.compare-terms tr", has_text="Prisoner-exchange ratio")
    expect(prisoners_row).to_contain_text("55 prisoners per hostage")
    expect(prisoners_row).to_contain_text("30 prisoners per hostage")
    shot(page, "proposal-compare")
    assert watch.clean(), watch

    phone, _ = open_as("mediator", viewport=browser.PHONE)
    phone.goto(f"/talks/gaza-ceasefire/proposals/{proposal.pk}/edit/")
    expect(phone.locator("#evaluation")).to_contain_text("Weighted satisfaction")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= browser.PHONE["width"], f"the builder scrolls sideways on a phone ({width}px)"
