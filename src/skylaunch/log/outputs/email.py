"""Failure alerts by e-mail, sent with the standard library's smtplib.

An SMTP server can take seconds to answer or not answer at all, and the scheduler must not wait
for it: :meth:`EmailHandler.emit` takes the record's fields and queues them; a daemon thread,
started by the first alert, renders and delivers them (the shared queued-output base,
:mod:`skylaunch.log._queued`). While the server cannot be reached (connection refused or reset,
timeout, a 4xx answer) the alert stays queued and is retried with backoff; failures are reported
on ``skylaunch.scheduler`` rate-limited, the first with its traceback. An alert the server
refuses for good (a 5xx answer: unknown recipient, bad login; a certificate that does not
verify) is reported and dropped: retrying cannot help. At exit :meth:`EmailHandler.close` waits
at most ``flush_timeout_s`` for what is queued and reports what it could not send.

Subject and body are ``str.format`` templates over the fields in :data:`TEMPLATE_FIELDS`; they are
checked when the handler is built, so a typo fails at start-up rather than at the first failure.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import string
import traceback
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone, tzinfo
from email.message import EmailMessage

from skylaunch.log._queued import QueuedWriter, WriterCounts, check_positive
from skylaunch.log.context import level_number

__all__ = ["DEFAULT_BODY", "DEFAULT_SUBJECT", "TEMPLATE_FIELDS", "EmailHandler", "is_transient"]

TEMPLATE_FIELDS = (
    "task_name",
    "run_id",
    "action",
    "created",
    "level",
    "message",
    "exc_text",
    "host",
    "logger",
)

DEFAULT_SUBJECT = "Task {task_name} failed"
DEFAULT_BODY = """\
Task:    {task_name}
Run id:  {run_id}
At:      {created}
Host:    {host}

{message}

{exc_text}
"""


def is_transient(exc: BaseException) -> bool:
    """Whether sending again later may succeed: the server was away, busy or answered 4xx."""
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPException, ssl.SSLError)):
        return False  # a refusal, a missing extension, a certificate that does not verify
    return isinstance(exc, OSError)  # refused, reset, unreachable, timed out, name lookup


def _check_template(name: str, template: str) -> None:
    if not isinstance(template, str):
        raise TypeError(f"EmailHandler {name}: got {template!r}; expected a str.format template")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"EmailHandler {name}: {template!r} is not a template: {exc}") from exc
    unknown = [f for f in fields if f.split(".", 1)[0].split("[", 1)[0] not in TEMPLATE_FIELDS]
    if unknown:
        shown = ", ".join("{" + f + "}" for f in unknown)
        raise ValueError(
            f"EmailHandler {name}: unknown field(s) {shown} in {template!r}; "
            f"known fields: {', '.join(TEMPLATE_FIELDS)}"
        )
    try:  # format specs and attribute access fail only when rendering; render once now
        template.format(**dict.fromkeys(TEMPLATE_FIELDS, "x"))
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise ValueError(f"EmailHandler {name}: {template!r} does not render: {exc}") from exc


class EmailHandler(WriterCounts, logging.Handler):
    """Mail an alert for each record at ``level`` (ERROR: task failures) or above.

    Attach it to ``skylaunch.task``. ``use_tls`` upgrades the connection with STARTTLS (port
    587); ``use_ssl`` speaks TLS from the start (port 465); both verify the server's certificate
    against ``ssl_context`` (default: the system's trusted CAs). At most ``max_queue`` alerts wait
    for delivery; beyond that they are dropped, counted in :attr:`dropped` and reported.
    ``timeout_s`` bounds each connection; ``flush_timeout_s`` bounds how long :meth:`close`
    (at exit) waits for queued alerts; ``backoff_s``/``max_backoff_s`` space the retries while
    the server is away; ``report_interval_s`` spaces the reports of drops and failures.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        receivers: str | Iterable[str],
        *,
        subject: str = DEFAULT_SUBJECT,
        body: str = DEFAULT_BODY,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        use_ssl: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 10,
        level: str = "error",
        max_queue: int = 100,
        flush_timeout_s: float = 5.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        report_interval_s: float = 60.0,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__(level_number(level, name="EmailHandler level"))
        _check_template("subject", subject)
        _check_template("body", body)
        to = [receivers] if isinstance(receivers, str) else list(receivers)
        if not to or not all(isinstance(r, str) and "@" in r for r in to):
            raise ValueError(f"EmailHandler receivers: got {receivers!r}; expected addresses")
        if not isinstance(sender, str) or "@" not in sender:
            raise ValueError(f"EmailHandler sender: got {sender!r}; expected an address")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"EmailHandler port: got {port!r}; expected 1-65535")
        if use_tls and use_ssl:
            raise ValueError("EmailHandler: use_tls (STARTTLS) and use_ssl exclude each other")
        if (username is None) != (password is None):
            raise ValueError("EmailHandler: give both username and password, or neither")
        if not timeout_s > 0:
            raise ValueError(f"EmailHandler timeout_s: got {timeout_s!r}; expected > 0")
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
            raise ValueError(f"EmailHandler max_queue: got {max_queue!r}; expected an int >= 1")
        for name, value in (
            ("flush_timeout_s", flush_timeout_s),
            ("backoff_s", backoff_s),
            ("max_backoff_s", max_backoff_s),
            ("report_interval_s", report_interval_s),
        ):
            check_positive("EmailHandler", name, value)
        self.host = host
        self.port = port
        self.sender = sender
        self.receivers = to
        self.subject = subject
        self.body = body
        self.username = username
        self.password = password
        self.use_tls = use_tls
        self.use_ssl = use_ssl
        # smtplib's own default context does not verify the server; this one does.
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout_s = timeout_s
        self.flush_timeout_s = flush_timeout_s
        self.tz = tz
        self.hostname = socket.gethostname()
        self._writer: QueuedWriter[Mapping[str, str]] = QueuedWriter(
            f"E-mail alerts to {', '.join(to)} via {host}:{port}",
            self._send,
            is_transient=is_transient,
            max_queue=max_queue,
            batch=1,  # one connection per alert: a retry never sends an alert twice
            backoff_s=backoff_s,
            max_backoff_s=max(backoff_s, max_backoff_s),
            report_interval_s=report_interval_s,
            close_timeout_s=flush_timeout_s,
            name_items=lambda items: ", ".join(
                f"the alert for task {i['task_name']} (run {i['run_id']})" for i in items
            ),
            unit="alert",
            thread_name="skylaunch-email-alerts",
        )

    @property
    def failed(self) -> int:
        """Alerts the server refused for good (each reported, not retried)."""
        return self._writer.rejected

    def fields(self, record: logging.LogRecord) -> Mapping[str, str]:
        """The values the templates see ('-' for what the record does not have)."""
        exc_text = record.exc_text
        if not exc_text and record.exc_info and record.exc_info[0] is not None:
            exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        created = datetime.fromtimestamp(record.created, tz=timezone.utc).astimezone(self.tz)
        return {
            "task_name": str(getattr(record, "task_name", None) or "-"),
            "run_id": str(getattr(record, "run_id", None) or "-"),
            "action": str(getattr(record, "action", None) or "-"),
            "created": created.isoformat(timespec="seconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "exc_text": exc_text or "",
            "host": self.hostname,
            "logger": record.name,
        }

    def build_message(self, values: Mapping[str, str]) -> EmailMessage:
        """Render the templates; done on the worker thread (the email package is slow)."""
        message = EmailMessage()
        # A header must be one line, whatever a task name or message contains.
        message["Subject"] = " ".join(self.subject.format(**values).split())
        message["From"] = self.sender
        message["To"] = ", ".join(self.receivers)
        message.set_content(self.body.format(**values))
        return message

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._writer.put(self.fields(record))
        except Exception:
            self.handleError(record)

    def _send(self, batch: list[Mapping[str, str]]) -> None:
        for values in batch:
            self._deliver(self.build_message(values))

    def _deliver(self, message: EmailMessage) -> None:
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with smtp:
            if self.use_tls:
                smtp.starttls(context=self.ssl_context)
            if self.username is not None and self.password is not None:
                smtp.login(self.username, self.password)
            smtp.send_message(message)

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every alert queued so far was sent or refused; False on timeout."""
        return self._writer.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        """Deliver what is queued, waiting at most ``timeout_s`` (default ``flush_timeout_s``);
        what is left and later alerts are dropped, counted and reported."""
        try:
            self._writer.close(timeout_s)
        finally:
            super().close()
