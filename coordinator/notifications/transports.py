"""How messages leave the machine: email over SMTP, SMS through a provider interface.

Only the SMS provider is outside the machine, so only it has stand-ins: one that logs (development) and one that
records (tests), behind the same interface a real provider would implement.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

from flask import Flask, current_app

log = logging.getLogger("coordinator.notifications")


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


class EmailTransport(Protocol):
    """Sends rendered emails; used as a context manager around a batch."""

    def __enter__(self) -> EmailTransport: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, email: Email) -> None: ...


class SmtpTransport:
    """One SMTP connection per batch, using the MAIL_* settings."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None
        self.failure: DeliveryFailed | None = None

    def __enter__(self) -> SmtpTransport:
        try:
            self.connection = smtplib.SMTP(self.config["MAIL_SERVER"], self.config["MAIL_PORT"], timeout=15)
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

    def send(self, email: Email) -> None:
        """Hand one email to the SMTP server."""
        if self.connection is None:
            raise self.failure or DeliveryFailed("smtp_unavailable")
        message = EmailMessage()
        message["From"] = self.config["MAIL_DEFAULT_SENDER"]
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        try:
            self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = ",".join(str(code) for code, _text in error.recipients.values())
            raise DeliveryFailed(f"recipient_refused:{codes}", permanent=True) from None
        except smtplib.SMTPResponseException as error:
            # 5xx is the server's final answer; 4xx asks to try again later.
            raise DeliveryFailed(f"smtp_error:{error.smtp_code}", permanent=error.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as error:
            self.connection = None
            self.failure = DeliveryFailed(f"smtp_unavailable:{type(error).__name__}")
            raise self.failure from None


class LogTransport:
    """Development without a mail server: note that an email would leave, never its address or text."""

    def __enter__(self) -> LogTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, email: Email) -> None:
        """Log the message id and size only."""
        log.info("email %s not sent (no MAIL_SERVER): %d characters", email.message_id, len(email.text))


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


def email_transport() -> EmailTransport:
    """SMTP when a mail server is configured, otherwise the logging stand-in (development only)."""
    config = current_app.config
    return SmtpTransport(config) if config["MAIL_SERVER"] else LogTransport()


def sms_provider() -> SmsProvider:
    """The app's SMS provider."""
    return current_app.extensions["sms_provider"]
