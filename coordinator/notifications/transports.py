"""How messages leave the machine: email over SMTP, SMS through a provider interface.

Only the SMS provider is outside the machine, so only it has stand-ins: one that logs (development) and one that
records (tests), behind the same interface a real provider would implement.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app

if TYPE_CHECKING:
    from typing_extensions import Buffer  # smtplib's argument type in typeshed (collections.abc from Python 3.12)

log = logging.getLogger("coordinator.notifications")
SMTP_LINES = compat32.clone(linesep="\r\n")


class DeliveryFailed(Exception):
    """A message could not be handed over; `reason` is a short code safe to store (no address, no text)."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    """One rendered email."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str


Settle = Callable[["DeliveryFailed | None"], None]
"""Records one message's outcome (None: it left) and commits it."""


class EmailTransport(Protocol):
    """Sends rendered emails; used as a context manager around a run of messages."""

    def __enter__(self) -> EmailTransport: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, email: Email, settle: Settle) -> None: ...


class _Connection(smtplib.SMTP):
    """smtplib's SMTP, except that the end of a message's DATA (the moment it leaves) waits for the handover gate.

    The gate stays held until the outcome is settled, so across the parallel connections of one dispatcher at most
    one message is ever "left but not yet recorded": a crash re-sends at most that one (issue 12 finding 4).
    """

    def __init__(self, gate: threading.Lock, *args: Any, **kwargs: Any) -> None:
        self.gate = gate
        self.holding = False
        self.in_data = False
        super().__init__(*args, **kwargs)

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        """smtplib's DATA, marked so that `send` can tell the message's last bytes from the DATA command."""
        self.in_data = True
        try:
            return super().data(msg)
        finally:
            self.in_data = False

    def send(self, s: Buffer | str) -> None:
        """Send bytes; inside DATA, everything after the DATA command itself is the message, ending with its dot."""
        # smtplib sends commands as str and the message (ending "\r\n.\r\n") as bytes.
        if self.in_data and not self.holding and isinstance(s, bytes):
            self.gate.acquire()
            self.holding = True
        super().send(s)

    def release(self) -> None:
        """Let the next connection's message leave (once this one's outcome is settled)."""
        if self.holding:
            self.holding = False
            self.gate.release()


class SmtpTransport:
    """One SMTP connection, using the MAIL_* settings; `gate` is shared by a dispatcher's parallel connections."""

    def __init__(self, config: Mapping[str, Any], gate: threading.Lock | None = None,
                 timeout: float = 15) -> None:
        self.config = config
        self.gate = gate or threading.Lock()
        self.timeout = timeout
        self.connection: _Connection | None = None
        self.failure: DeliveryFailed | None = None

    def __enter__(self) -> SmtpTransport:
        try:
            self.connection = _Connection(self.gate, self.config["MAIL_SERVER"], self.config["MAIL_PORT"],
                                          timeout=self.timeout)
            if self.config["MAIL_USE_TLS"]:
                self.connection.starttls(context=ssl.create_default_context())
            if self.config["MAIL_USERNAME"]:
                self.connection.login(self.config["MAIL_USERNAME"], self.config["MAIL_PASSWORD"] or "")
        except (OSError, smtplib.SMTPException) as error:
            self.connection = None
            self.failure = DeliveryFailed(f"smtp_unavailable:{type(error).__name__}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.quit()

    def send(self, email: Email, settle: Settle) -> None:
        """Hand one email to the SMTP server and settle its outcome before the next message may leave."""
        connection = self.connection
        try:
            settle(self._hand_over(email))
        finally:
            if connection is not None:
                connection.release()

    def _headers(self, email: Email) -> list[tuple[str, str]]:
        if any("\r" in value or "\n" in value for value in (email.to, email.subject)):
            raise DeliveryFailed("header_with_line_break", permanent=True)  # compat32 would not refuse it
        return [("From", self.config["MAIL_DEFAULT_SENDER"]), ("To", email.to), ("Subject", email.subject),
                ("Message-ID", email.message_id), ("Auto-Submitted", "auto-generated")]

    def _mime(self, email: Email) -> bytes:
        """The email as bytes, built with the compat32 API: a third of the CPU of EmailMessage, which matters when
        parallel connections share one interpreter."""
        message = MIMEMultipart("alternative")
        for name, value in self._headers(email):
            message[name] = value if value.isascii() else Header(value, "utf-8", header_name=name)  # type: ignore[assignment]
        message.attach(MIMEText(email.text, "plain", "utf-8"))
        message.attach(MIMEText(email.html, "html", "utf-8"))
        return message.as_bytes(policy=SMTP_LINES)  # smtplib sends bytes as they are: CRLF line ends here

    def _modern(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        for name, value in self._headers(email):
            message[name] = value
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def _hand_over(self, email: Email) -> DeliveryFailed | None:
        if self.connection is None:
            return self.failure or DeliveryFailed("smtp_unavailable")
        try:
            if email.to.isascii():
                self.connection.sendmail(parseaddr(self.config["MAIL_DEFAULT_SENDER"])[1], [email.to],
                                         self._mime(email))
            else:  # an internationalised address: the modern API negotiates SMTPUTF8
                self.connection.send_message(self._modern(email))
        except DeliveryFailed as refused:
            return refused
        except smtplib.SMTPRecipientsRefused as error:
            codes = ",".join(str(code) for code, _text in error.recipients.values())
            return DeliveryFailed(f"recipient_refused:{codes}", permanent=True)
        except smtplib.SMTPResponseException as error:
            # 5xx is the server's final answer; 4xx asks to try again later.
            return DeliveryFailed(f"smtp_error:{error.smtp_code}", permanent=error.smtp_code >= 500)
        except (OSError, smtplib.SMTPException) as error:
            self.connection = None
            self.failure = DeliveryFailed(f"smtp_unavailable:{type(error).__name__}")
            return self.failure
        return None


class LogTransport:
    """Development without a mail server: note that an email would leave, never its address or text."""

    def __enter__(self) -> LogTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, email: Email, settle: Settle) -> None:
        """Log the message id and size only."""
        log.info("email %s not sent (no MAIL_SERVER): %d characters", email.message_id, len(email.text))
        settle(None)


class SmsProvider(Protocol):
    """What any SMS provider implements."""

    def send(self, to: str, body: str, idempotency_key: str) -> str:
        """Send one text; returns the provider's message id."""


class NoSmsProvider:
    """Production until a provider is configured: texts wait, parked, for a coordinator."""

    def send(self, to: str, body: str, idempotency_key: str) -> str:
        """Refuse: nothing can be sent."""
        raise DeliveryFailed("sms_provider_not_configured")


class LoggingSmsProvider:
    """Development: log that a text would leave, with the number masked."""

    def send(self, to: str, body: str, idempotency_key: str) -> str:
        """Log a masked number and the text's length."""
        log.info("sms %s to …%s not sent (log provider): %d characters", idempotency_key, to[-2:], len(body))
        return f"log-{idempotency_key}"


@dataclass
class RecordingSmsProvider:
    """Tests: keep every text handed over; `fail_with` makes the next sends fail."""

    sent: list[dict] = field(default_factory=list)
    fail_with: str | None = None

    def send(self, to: str, body: str, idempotency_key: str) -> str:
        """Record the text, or fail as told."""
        if self.fail_with:
            raise DeliveryFailed(self.fail_with)
        self.sent.append({"to": to, "body": body, "key": idempotency_key})
        return f"rec-{len(self.sent)}"


SMS_PROVIDERS = {"none": NoSmsProvider, "log": LoggingSmsProvider, "record": RecordingSmsProvider}


def init_transports(app: Flask) -> None:
    """Choose the SMS provider once per app (the recording one must persist between sends)."""
    name = app.config["SMS_PROVIDER"]
    if name not in SMS_PROVIDERS:
        raise RuntimeError(f"SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}, not {name!r}")
    app.extensions["sms_provider"] = SMS_PROVIDERS[name]()


def email_transport(gate: threading.Lock | None = None, timeout: float = 15) -> EmailTransport:
    """SMTP when a mail server is configured, otherwise the logging stand-in (development only)."""
    config = current_app.config
    return SmtpTransport(config, gate, timeout) if config["MAIL_SERVER"] else LogTransport()


def sms_provider() -> SmsProvider:
    """The app's SMS provider."""
    return current_app.extensions["sms_provider"]
