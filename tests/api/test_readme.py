"""The README's "For scripts" examples, run as written against a live server with the demo."""

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from positions.models import Position

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(language: str) -> list[str]:
    text = README.read_text()
    section = text.split("## For scripts", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


@pytest.fixture
def demo_server(transactional_db, live_server, fresh_cache, tmp_path):
    from django.contrib.auth import get_user_model

    from api.services import api_token_create

    call_command("load_demo", stdout=io.StringIO())
    analyst = get_user_model().objects.get(username="analyst")
    _, secret = api_token_create(user=analyst, name="README", read_only=False)
    env = {**os.environ, "REDLINE_URL": live_server.url, "REDLINE_TOKEN": secret}
    return env, tmp_path


def run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{args[-1][:200]}\n{result.stdout}\n{result.stderr}"
    return result


def test_the_readme_examples_run_as_written(demo_server):
    env, cwd = demo_server
    shell, python = blocks("sh"), blocks("python")
    assert len(shell) == 3
    assert len(python) == 1

    run(["bash", "-euo", "pipefail", "-c", shell[0]], env, cwd)
    exported = list(csv.DictReader((cwd / "positions.csv").open(encoding="utf-8")))
    assert len(exported) == Position.objects.filter(layer="declared").count() == 10
    assert {r["layer"] for r in exported} == {"declared"}

    conditional = run(["bash", "-euo", "pipefail", "-c", shell[1]], env, cwd)
    assert conditional.stdout.strip().splitlines()[-1] == "304"

    write = run(["bash", "-euo", "pipefail", "-c", shell[2]], env, cwd)
    assert write.stdout.strip().splitlines()[-1] == "412"
    hamas_aid = Position.objects.get(issue__key="aid", party__name="Hamas", layer="declared")
    assert (hamas_aid.priority, hamas_aid.version) == (3, 2)

    script = run([sys.executable, "-c", python[0]], env, cwd)
    out = script.stdout
    assert "Israel: demands 10.0, red line 60.0" in out
    assert "Israel's red line is now 65.0 (version 2)" in out
    assert "400 {'red_line': [\"This value lies outside the issue's scale.\"]}" in out
    assert re.search(r"^prisoners: (gap|zone) \((recomputing|as of .+)\) ", out, flags=re.M)
    israel = Position.objects.get(issue__key="prisoners", party__name="Israel", layer="declared")
    assert (israel.red_line_value, israel.version) == (65.0, 2)
    assert israel.revisions.get(version=2).via == "api"
