"""Failure alerts by e-mail, sent with the standard library's smtplib.

An SMTP server can take seconds to answer or not answer at all, and the scheduler must not wait
for it: :meth:`EmailHandler.emit` renders the message and queues it; a daemon thread, started by
the first alert, delivers it. A failed delivery is logged on ``skylaunch.scheduler`` with its
traceback and the alert is dropped (alerts are for humans: an old one is worth little, and
retrying a misconfigured server forever would hide the misconfiguration).

Subject and body are ``str.format`` templates over the fields in :data:`TEMPLATE_FIELDS`; they are
checked when the handler is built, so a typo fails at start-up rather than at the first failure.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import socket
import ssl
import string
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone, tzinfo
from email.message import EmailMessage

from skylaunch.log.context import level_number

__all__ = ["DEFAULT_BODY", "DEFAULT_SUBJECT", "TEMPLATE_FIELDS", "EmailHandler"]

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

_scheduler_log = logging.getLogger("skylaunch.scheduler")
_STOP = object()


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


class EmailHandler(logging.Handler):
    """Mail an alert for each record at ``level`` (ERROR: task failures) or above.

    Attach it to ``skylaunch.task``. ``use_tls`` upgrades the connection with STARTTLS (port
    587); ``use_ssl`` speaks TLS from the start (port 465); both verify the server's certificate
    against ``ssl_context`` (default: the system's trusted CAs). At most ``max_queue`` alerts wait for
    delivery; beyond that they are dropped, counted in :attr:`dropped` and reported.
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
        self.tz = tz
        self.hostname = socket.gethostname()
        self.dropped = 0
        """Alerts not queued because the queue was full or the handler was closed."""
        self.sent = 0
        """Alerts the server accepted."""
        self.failed = 0
        """Alerts the server refused or could not be reached for (each logged)."""
        self._queue: queue.Queue[Mapping[str, str] | object] = queue.Queue(max_queue)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._done = threading.Condition()
        self._queued = 0
        self._last_drop_report: float | None = None

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
            if self._closed:
                self._drop()
                return
            try:
                self._queue.put_nowait(self.fields(record))
            except queue.Full:
                self._drop()
                return
            with self._done:
                self._queued += 1
            self._ensure_worker()
        except Exception:
            self.handleError(record)

    def _drop(self) -> None:
        self.dropped += 1
        now = time.monotonic()
        if self._last_drop_report is None or now - self._last_drop_report >= 60:
            self._last_drop_report = now
            _scheduler_log.warning(
                "E-mail alerts to %s: dropped an alert (total %d): queue full or handler closed",
                ", ".join(self.receivers),
                self.dropped,
            )

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="skylaunch-email-alerts", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Mapping)
            try:
                self._deliver(self.build_message(item))
            except Exception:
                with self._done:
                    self.failed += 1
                _scheduler_log.exception(
                    "E-mail alert for task %s (run %s) to %s via %s:%d could not be sent",
                    item["task_name"],
                    item["run_id"],
                    ", ".join(self.receivers),
                    self.host,
                    self.port,
                )
            else:
                with self._done:
                    self.sent += 1
            with self._done:
                self._done.notify_all()

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
        """Wait until every alert queued so far was sent or failed; False on timeout."""
        with self._done:
            target = self._queued
            return self._done.wait_for(lambda: self.sent + self.failed >= target, timeout_s)

    def close(self) -> None:
        """Deliver what is queued, waiting at most ``timeout_s``; later alerts are dropped."""
        if not self._closed:
            self._closed = True
            if self._thread is not None:
                self.drain(self.timeout_s)
                try:
                    self._queue.put_nowait(_STOP)
                except queue.Full:
                    pass  # the daemon thread dies with the process
        super().close()
