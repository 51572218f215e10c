"""A real SMTP server for the notification tests (aiosmtpd on a free local port)."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Inbox:
    """An SMTP handler that keeps every message; addresses containing 'refuse' are rejected."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if "refuse" in address:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "message": message,
                              "subject": str(message["Subject"]), "text": message.get_body(("plain",)).get_content(),
                              "html": message.get_body(("html",)).get_content(),
                              "message_id": str(message["Message-ID"]), "peer": session.peer})
        return "250 Message accepted"

    def to(self, address: str) -> list[dict]:
        """Messages for one address."""
        return [message for message in self.messages if address in message["to"]]


class SlowSmtp(SMTP):
    """An SMTP session that waits `delay` seconds before each reply: a relay some distance away."""

    delay = 0.0

    async def push(self, status):
        if self.delay and str(status)[3:4] != "-":  # once per reply, not per line of a multi-line one
            await asyncio.sleep(self.delay)
        await super().push(status)


class SlowController(Controller):
    """aiosmtpd's controller serving SlowSmtp sessions."""

    def __init__(self, *args, delay: float = 0.0, **kwargs):
        self.delay = delay
        super().__init__(*args, **kwargs)

    def factory(self):
        server = SlowSmtp(self.handler, **self.SMTP_kwargs)
        server.delay = self.delay
        return server


class SmtpServer:
    """Start, stop and restart the server on one port, to play a mail server going down and coming back."""

    def __init__(self, delay: float = 0.0):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller = None
        self.delay = delay

    def start(self) -> None:
        self.controller = SlowController(self.inbox, hostname="127.0.0.1", port=self.port, delay=self.delay)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    """A running SMTP server; `smtp.inbox.messages` holds what arrived."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_settings(smtp):
    """The app sends mail to the test server, retries after 60 s, 2 min, 4 min and parks after 4 attempts."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "OUTBOX_MAX_ATTEMPTS": "4",
            "OUTBOX_RETRY_BASE_SECONDS": "60", "COORDINATOR_BASE_URL": "https://circles.example.org"}
