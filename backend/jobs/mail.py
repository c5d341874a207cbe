"""Outgoing e-mail over SMTP (the standard library's client, in a thread), one connection per batch."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from backend.logging import get_logger
from backend.settings import SmtpSettings

log = get_logger("parboard.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


def message(settings: SmtpSettings, mail: Mail) -> EmailMessage:
    """A multipart/alternative message: plain text first, then the same in simple HTML."""
    sender = parseaddr(settings.from_address)[1]
    msg = EmailMessage()
    msg["From"] = settings.from_address
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate()
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # RFC 3834: out-of-office responders do not answer a machine.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


async def send(settings: SmtpSettings, mails: list[Mail]) -> int:
    """Send every mail; a recipient the server refuses is logged and skipped. Returns how many were accepted.

    A connection or authentication failure raises (the job fails and says so in its log)."""
    if not mails:
        return 0
    return await asyncio.to_thread(_send, settings, mails)


def _send(settings: SmtpSettings, mails: list[Mail]) -> int:
    sent = 0
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
        for mail in mails:
            try:
                smtp.send_message(message(settings, mail))
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                log.warning("mail refused by the SMTP server", to=mail.to, error=str(exc))
                continue
            sent += 1
    return sent
