"""Every page of the demo, as the analyst and the mediator reach it in Debian's Chromium
(Playwright): links followed from the talk list, plus the token page, the API documentation
and the audit log; and the admin as the demo's staff member sees it. On every page: no Content-Security-Policy violation (the browser's
securitypolicyviolation events and its console), no request to another origin, no console
error, no failed load, and the site's strict policy in the response.

Pages are told apart by their route and the names of their query parameters, so a list of
links to the same page with other filters (the audit log has one per event) costs one visit;
every issue, position and option of the demo has its own route arguments and is visited.
"""

import io
import os
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import Resolver404, resolve

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
SCREENSHOTS_OF = {"/audit/": "audit-log", "/admin/": "admin"}
PASSWORDS = {
    "analyst": "redline-analyst-demo",
    "mediator": "redline-mediator-demo",
    "admin": "redline-admin-demo",
}
TALK = "/talks/gaza-ceasefire/"


def seeds(username: str) -> list[str]:
    """Where the crawl starts besides the talk list: the header's pages, the API docs, and
    what only a form (not a link) leads to: the dashboard at the end of each round, and the
    form for a new position (linked only where one is missing, and the demo misses none)."""
    from talks import demo

    if username == "admin":
        return ["/admin/"]
    pages = ["/", "/account/tokens/", "/api/docs/"]
    for r in demo.ROUNDS:
        pages += [f"{TALK}?round={r['number']}", f"{TALK}?layer=assessed&round={r['number']}"]
    if username == "analyst":
        pages.append("/audit/")
        pages += [f"{TALK}issues/{spec.key}/positions/new/" for spec in demo.ISSUES]
    return pages


# Recorded by the browser itself for every policy violation, whatever the console says.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
});
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not at {CHROMIUM}"),
]


@dataclass
class Crawl:
    origin: str
    pages: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    weak_policies: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        return {
            name: value
            for name, value in vars(self).items()
            if isinstance(value, list) and name != "pages" and value
        }


# Query parameters whose value picks rows of a list (or a party on a form), not what the
# page is: one value of each is enough.
SAME_PAGE_WHATEVER = {"before", "after", "user", "object_type", "object_id", "request_id", "party"}


def page_kind(path: str, query: str) -> tuple:
    """What makes a page a page of its own: its route, its arguments and its query, where
    the value of a SAME_PAGE_WHATEVER parameter does not count. In the admin, its route
    alone: one list, one form, one history per model."""
    try:
        match = resolve(path)
    except Resolver404:
        return (path,)
    if path.startswith("/admin/"):
        return (match.view_name,)
    params = frozenset(
        (name, "" if name in SAME_PAGE_WHATEVER else value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    )
    return (match.view_name, tuple(sorted(match.kwargs.items())), params)


def followable(href: str, origin: str, *, admin: bool) -> str | None:
    """The same-origin page a link leads to, or None for what a crawl must not follow.
    The admin's crawl stays in the admin; the others stay out of it."""
    if not href or href.startswith(("#", "mailto:", "javascript:")):
        return None
    if href.startswith("http") and not href.startswith(origin):
        return None
    parts = urlsplit(href.removeprefix(origin))
    if parts.path.startswith("/admin/") != admin:
        return None
    if parts.path.startswith(("/static/", "/api/v1/", "/api/schema/", "/admin/r/")):
        return None
    if parts.path.endswith("/logout/"):
        return None
    if parts.path.endswith(".csv") or "format=csv" in parts.query:
        return None  # a download, not a page
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(browser_context, origin: str, username: str) -> Crawl:
    result = Crawl(origin=origin)
    page = browser_context.new_page()
    page.add_init_script(CSP_LISTENER)
    page.on("console", lambda m: _console(result, m))
    page.on("pageerror", lambda e: result.console_errors.append(f"{page.url}: {e}"))

    def on_request(request):
        if not request.url.startswith((origin, "data:", "about:", "blob:")):
            result.foreign_requests.append(f"{page.url} -> {request.url}")

    def on_response(response):
        if response.status >= 400:
            result.failed_responses.append(f"{response.status} {response.url}")
        if response.request.resource_type == "document":
            policy = response.headers.get("content-security-policy", "")
            if "default-src 'self'" not in policy or "unsafe-" in policy:
                result.weak_policies.append(f"{response.url}: {policy!r}")

    page.on("request", on_request)
    page.on("response", on_response)

    page.goto(f"{origin}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{origin}/")

    queue = deque(seeds(username))
    seen = {page_kind(*_split(url)) for url in queue}
    while queue:
        url = queue.popleft()
        page.goto(f"{origin}{url}", wait_until="load")
        if url.startswith("/api/docs/"):
            page.wait_for_selector(".opblock", timeout=20_000)
        page.evaluate("() => new Promise((done) => setTimeout(done, 50))")
        result.violations.extend(
            f"{url}: {v}" for v in page.evaluate("window.__cspViolations || []")
        )
        result.pages.append(url)
        if url in SCREENSHOTS_OF:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / f"{SCREENSHOTS_OF[url]}-{username}.png"
            page.screenshot(path=str(shot))
        for href in page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.getAttribute('href'))"
        ):
            target = followable(_absolute(href, url), origin, admin=username == "admin")
            if target is None:
                continue
            kind = page_kind(*_split(target))
            if kind not in seen:
                seen.add(kind)
                queue.append(target)
    _check_the_listener_catches_a_violation(page, result)
    return result


def _console(result: Crawl, message) -> None:
    if message.type == "error" or "Content Security Policy" in message.text:
        result.console_errors.append(f"{message.location.get('url', '')}: {message.text}")


def _split(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


def _absolute(href: str, current: str) -> str:
    if href.startswith(("/", "http")):
        return href
    if href.startswith("?"):
        return urlsplit(current).path + href
    base = urlsplit(current).path.rsplit("/", 1)[0]
    return f"{base}/{href}"


def _check_the_listener_catches_a_violation(page, result: Crawl) -> None:
    """An inline script added on purpose is refused and reported: the crawl's zero counts
    come from a listener that works."""
    logged = len(result.console_errors)
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = true"; document.body.append(s); }"""
    )
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")
    caught = page.evaluate("window.__cspViolations")
    assert page.evaluate("window.injected === undefined")
    assert any(v.startswith("script-src") for v in caught), caught
    assert all("Content Security Policy" in e for e in result.console_errors[logged:])
    del result.console_errors[logged:]


@pytest.fixture
def demo_server(transactional_db, live_server):
    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    return live_server


@pytest.mark.parametrize("username", ["analyst", "mediator", "admin"])
def test_every_page_of_the_demo_is_clean(demo_server, new_context, username, capsys):
    result = crawl(new_context(), demo_server.url, username)
    kinds = {re.sub(r"/\d+/", "/<id>/", urlsplit(p).path) for p in result.pages}
    with capsys.disabled():
        print(
            f"\nCrawl as {username}: {len(result.pages)} pages ({len(kinds)} kinds); "
            f"CSP violations {len(result.violations)}, console errors "
            f"{len(result.console_errors)}, requests to another origin "
            f"{len(result.foreign_requests)}, failed loads {len(result.failed_responses)}"
        )
    assert not result.problems(), result.problems()
    visited = set(result.pages)
    if username == "admin":
        admin_pages = {resolve(urlsplit(p).path).view_name for p in visited}
        for model in ("talks_talk", "issues_issue", "positions_position", "audit_auditevent"):
            assert {f"admin:{model}_changelist", f"admin:{model}_change"} <= admin_pages
        return
    for key in _demo_issue_keys():  # every issue of the demo, on both layers
        assert {f"{TALK}issues/{key}/", f"{TALK}issues/{key}/?layer=assessed"} <= visited
    assert {"/account/tokens/", "/api/docs/"} <= visited
    if username == "analyst":
        assert any("/positions/new/" in p for p in visited)
        assert any(p.endswith("/edit/") and "/positions/" in p for p in visited)
        assert any(p.endswith("/withdraw/") for p in visited)
        assert f"{TALK}members/" in visited
        assert f"{TALK}manage/issues/" in visited
        assert "/audit/" in visited
        assert len(result.pages) >= 40
    else:  # the mediator drafts proposals, and edits nothing else
        analysts_only = re.compile(r"/(positions/\d+|issues/[\w-]+)/(edit|withdraw)/|/manage/")
        assert not [p for p in visited if analysts_only.search(p)]
        assert any(re.search(r"/proposals/\d+/edit/", p) for p in visited)
        assert len(result.pages) >= 15
    assert f"{TALK}proposals/" in visited


def _demo_issue_keys() -> list[str]:
    from talks import demo

    return [spec.key for spec in demo.ISSUES]
