"""Outgoing mail (SPEC §1 `[mail]`) over SMTP with aiosmtplib: STARTTLS on the submission
port (RFC 3207, 587), implicit TLS (RFC 8314, 465) or, for a relay on this machine, none.
Certificates are verified. Every exchange has a deadline, so a silent server costs a
sender `TIMEOUT` seconds, never a request: mail goes out after the request, in the
background (`Mailer.deliver`, called from a task), and a failure is logged and retried.

The SMTP password is never logged: errors are described from the exception's class and
the server's reply, which never echoes it. No internal imports but the config's type.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from .config import MailConfig

log = logging.getLogger("fync.mail")
TIMEOUT = 10.0  # seconds for each SMTP step (connect, EHLO, STARTTLS, AUTH, DATA)
RETRY_DELAYS = (5, 30)  # seconds before the second and third tries


class MailError(Exception):
    """The mail was not handed over; the message says why (never the password)."""


def compose(settings: MailConfig, to: str, subject: str, text: str, domain: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.sender, to, subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=domain.partition(":")[0] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(text)
    return message


def _client(settings: MailConfig, tls_context: ssl.SSLContext | None) -> aiosmtplib.SMTP:
    """A client that connects, says EHLO, upgrades (STARTTLS) and logs in, as configured."""
    return aiosmtplib.SMTP(hostname=settings.host, port=settings.port, timeout=TIMEOUT,
                           use_tls=settings.security == "tls", start_tls=settings.security == "starttls",
                           username=settings.username or None, password=settings.password or None,
                           tls_context=tls_context)


async def send(settings: MailConfig, message: EmailMessage, tls_context: ssl.SSLContext | None = None) -> None:
    """Hand `message` to the SMTP server; MailError if it was not taken."""
    client = _client(settings, tls_context)
    try:
        async with client:
            await client.send_message(message)
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        raise MailError(describe(exc)) from None


async def check(settings: MailConfig, tls_context: ssl.SSLContext | None = None) -> None:
    """Connect, EHLO, STARTTLS and log in as configured, then QUIT: no mail is sent."""
    client = _client(settings, tls_context)
    try:
        await client.connect()
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        raise MailError(describe(exc)) from None
    finally:
        client.close()


def describe(exc: BaseException) -> str:
    """What went wrong, for a log line or `fync doctor`."""
    if isinstance(exc, (asyncio.TimeoutError, aiosmtplib.SMTPTimeoutError)):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"the server refused the login ({exc.code} {exc.message})"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"the server answered {exc.code} {exc.message}"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, aiosmtplib.SMTPException) else f"{type(exc).__name__}: {text}"


class Mailer:
    """Sends with retries: up to three tries over ~35 s, each failure logged, the last
    one at ERROR naming what was not sent. Call `deliver` from a background task."""

    def __init__(self, settings: MailConfig, tls_context: ssl.SSLContext | None = None,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS):
        self.settings, self.tls_context, self.retry_delays = settings, tls_context, retry_delays

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def deliver(self, message: EmailMessage, what: str) -> bool:
        """Try to send `message` (`what` names it in the log) → whether it went."""
        for attempt, delay in enumerate((0, *self.retry_delays), start=1):
            await asyncio.sleep(delay)
            try:
                await send(self.settings, message, self.tls_context)
                log.info("sent %s", what)
                return True
            except MailError as exc:
                last = attempt > len(self.retry_delays)
                log.log(logging.ERROR if last else logging.WARNING, "%s %s (try %d): %s",
                        "gave up sending" if last else "could not send", what, attempt, exc)
        return False
