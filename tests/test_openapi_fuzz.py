"""The OpenAPI document is the truth (issue 12, item 12): Schemathesis sends what the document allows and what it
forbids to a live server, with every check, and the run has no failure and no 500.

Bounded: a fixed seed, a few examples per operation, and a time limit; a coordinator's run over every operation and
a prosecutor's over the reads. Exceptions to `positive_data_acceptance` are listed, with their reasons, in
tests/schemathesis.toml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import serving

HERE = Path(__file__).resolve().parent
SEED = "20261206"
TIME_LIMIT_SECONDS = 240


@pytest.fixture
def fuzzable_app(app):
    """The test app with limits raised: Schemathesis sends thousands of requests and many without a token."""
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    app.config["API_UNAUTHENTICATED_RATE_LIMIT"] = "100000 per minute"
    return app


def schemathesis(base_url: str, token: str, workdir: Path, *options: str) -> subprocess.CompletedProcess:
    """`schemathesis run` against the live document, as the token's owner, from `workdir` (its cache stays there);
    the output is kept for the report."""
    command = [str(Path(sys.executable).with_name("schemathesis")), "--no-color",
               "--config-file", str(HERE / "schemathesis.toml"), "run", f"{base_url}/api/v1/openapi.json",
               "--checks", "all", "--seed", SEED, "--workers", "1", "--request-timeout", "10",
               "-H", f"Authorization: Bearer {token}", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS, check=False,
                          cwd=workdir, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})


def test_schemathesis_finds_nothing_as_a_coordinator(fuzzable_app, factory, tmp_path):
    """Every operation, every check; real records exist for the ids it guesses to miss (404s must be clean too)."""
    coordinator = factory.user("coordinator")
    factory.referral(by=coordinator, facilitators=[factory.user("facilitator"), factory.user("facilitator")],
                     status="preparation")
    with serving(fuzzable_app) as base_url:
        run = schemathesis(base_url, factory.token(coordinator), tmp_path, "--max-examples", "12")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "500" not in run.stdout.split("SUMMARY")[-1]


def test_schemathesis_finds_nothing_as_a_prosecutor(fuzzable_app, factory, tmp_path):
    """The prosecutor's reads: their own case's view, consent, lists; refusals are clean and conform."""
    prosecutor = factory.user("prosecutor")
    factory.referral(prosecutor=prosecutor, status="screening")
    with serving(fuzzable_app) as base_url:
        run = schemathesis(base_url, factory.token(prosecutor), tmp_path, "--max-examples", "6",
                           "--include-method", "GET", "--phases", "examples,coverage,fuzzing")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
