"""Suite-wide fixtures and the rules that keep CI honest.

- Tasks run in-process (the embedded mode) unless a test asks for the real worker.
- With REDLINE_REQUIRE_ALL=1 (CI), a skipped test is a failure: every test must run.
- The tests that could not run here are named at the end of the run.
"""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

pytest_plugins = ["tests.fixtures", "tests.worker", "tests.api_support"]

REQUIRE_ALL = os.environ.get("REDLINE_REQUIRE_ALL") == "1"


@pytest.fixture(autouse=True)
def _tasks_in_process(request, settings):
    """Run Celery tasks eagerly unless the test drives a real worker."""
    from config.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """A cheap hasher for the suite (each PBKDF2 hash costs ~0.35 s here); the tests of
    password storage itself ask for the production hashers back (tests/audit/test_dump.py)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium"),
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in a run that must run every test: {reason}"


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section("Could not run here")
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        terminalreporter.write_line(f"{report.nodeid}: {reason}")
