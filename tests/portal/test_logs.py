"""No secure-link token in any log (docs/design.md section 5): the real Werkzeug development server and real gunicorn,
each asked for links with GET, HEAD and POST; the request lines are logged, redacted. Also the paths that quote a
request outside the request log: Flask's "Exception on <path>" and gunicorn's "Invalid request" warning."""

from __future__ import annotations

import http.cookiejar
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError

from coordinator.db import db
from tests.live_server import serving
from tests.portal.helpers import CSRF, link_for

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN_TOKEN = "Zq3" * 14 + "x"  # shaped like a real token (43 url-safe characters), matching no link
UNKNOWN = f"/p/{UNKNOWN_TOKEN}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the development server colours its request lines


class Visitor:
    """urllib with a cookie jar: what a phone's browser sends, minus the browser."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method: str, path: str, data: bytes | None = None) -> tuple[int, str]:
        """Status and body; error statuses are answers too."""
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def walk_through_link(self, path: str) -> None:
        """GET, HEAD, then continue (POST with the page's CSRF token), as a party does."""
        status, page = self.request("GET", path)
        assert status == 200 and 'data-action="continue"' in page
        assert self.request("HEAD", path)[0] == 200
        csrf = CSRF.search(page).group(1)
        status, landed = self.request("POST", path, f"csrf_token={csrf}".encode())
        assert status == 200 and 'data-action="read-sheet"' in landed  # redirected to the portal's home
        assert self.request("POST", path, b"")[0] == 400  # no CSRF token: refused, and logged all the same


def leaks(record: logging.LogRecord, secrets: list[str]) -> bool:
    """Whether a record carries a secret in its message or in any of its raw arguments."""
    args = record.args.values() if isinstance(record.args, dict) else (record.args or ())
    texts = [record.getMessage(), str(record.msg), *map(str, args)]
    return any(secret in text for secret in secrets for text in texts)


def test_the_development_server_logs_link_requests_without_the_token(app, case, caplog):
    """GET, HEAD and POST on a real link and an unknown one: logged as /p/[redacted], the token nowhere."""
    path = link_for(app, case)
    secrets = [path.removeprefix("/p/"), UNKNOWN_TOKEN]
    caplog.set_level(logging.INFO)
    with serving(app) as base_url:
        visitor = Visitor(base_url)
        visitor.walk_through_link(path)
        assert visitor.request("GET", UNKNOWN)[0] == 404
        assert visitor.request("HEAD", UNKNOWN)[0] == 404
    request_lines = [ANSI.sub("", record.getMessage()) for record in caplog.records if record.name == "werkzeug"]
    for method in ("GET", "HEAD", "POST"):
        assert any(f'"{method} /p/[redacted] HTTP/1.1"' in line for line in request_lines), (method, request_lines)
    assert any('"GET /portal HTTP/1.1" 200' in line for line in request_lines)
    assert [record.getMessage() for record in caplog.records if leaks(record, secrets)] == []


def test_a_request_that_fails_after_its_view_logs_no_token(app, case, caplog, monkeypatch):
    """The database fails at the commit: Flask logs "Exception on <path>" on the app's logger, redacted."""
    path = link_for(app, case)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the failure is logged, not raised

    def commit_fails():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", commit_fails)
    caplog.set_level(logging.INFO)
    with serving(app) as base_url:
        assert Visitor(base_url).request("GET", path)[0] == 500
    assert any(record.getMessage() == "Exception on /p/[redacted] [GET]" for record in caplog.records)
    assert [record.getMessage() for record in caplog.records if leaks(record, [path.removeprefix("/p/")])] == []


def free_port() -> int:
    """A local port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, keys: str, access_log: Path, output: Path) -> Iterator[str]:
    """Real gunicorn with the project's settings and one worker, on the test database; stopped in any case."""
    port = free_port()
    env = {**os.environ, "COORDINATOR_ENV": "testing", "DATABASE_URL": database_url,
           "COORDINATOR_ENCRYPTION_KEYS": keys}
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--access-logfile", str(access_log),
             "--no-control-socket", "app:app"],  # no socket in $HOME, shared with any other gunicorn
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base_url, output)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_healthy(process: subprocess.Popen, base_url: str, output: Path, timeout: float = 60) -> None:
    """Poll /healthz until gunicorn's worker answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited early:\n{output.read_text()}"
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer /healthz within {timeout}s:\n{output.read_text()}")


def send_raw(base_url: str, request_line: bytes) -> bytes:
    """A request as a careless client writes it, straight onto the socket; returns the status line."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request_line + b"\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
        return connection.makefile("rb").readline()


def test_gunicorn_logs_link_requests_without_the_token(app, case, database_url, tmp_path):
    """The access log has the /p/ request lines, redacted; neither it nor the app's own output has a token."""
    path = link_for(app, case)
    secrets = [path.removeprefix("/p/"), UNKNOWN_TOKEN]
    access_log, output = tmp_path / "access.log", tmp_path / "gunicorn.out"
    with gunicorn(database_url, app.config["COORDINATOR_ENCRYPTION_KEYS"], access_log, output) as base_url:
        visitor = Visitor(base_url)
        visitor.walk_through_link(path)
        assert visitor.request("GET", UNKNOWN)[0] == 404
        assert visitor.request("HEAD", UNKNOWN)[0] == 404
        # The link pasted with a character glued to it, sent unencoded: gunicorn refuses it and says why.
        assert send_raw(base_url, f"GET {path}» HTTP/1.1".encode()).startswith(b"HTTP/1.1 400")
    lines = access_log.read_text().splitlines()
    link_lines = [line for line in lines if "/p/" in line]
    assert sum('"GET /p/[redacted] HTTP/1.1" 200' in line for line in link_lines) == 1
    assert sum('"GET /p/[redacted] HTTP/1.1" 404' in line for line in link_lines) == 1
    assert sum('"HEAD /p/[redacted] HTTP/1.1"' in line for line in link_lines) == 2
    assert sum('"POST /p/[redacted] HTTP/1.1"' in line for line in link_lines) == 2
    assert all("/p/[redacted]" in line for line in link_lines), link_lines
    written = access_log.read_text() + output.read_text()
    assert "Booting worker" in written  # the app's own output was captured
    assert "Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'GET /p/[redacted]" in written
    assert [secret for secret in secrets if secret in written] == []
