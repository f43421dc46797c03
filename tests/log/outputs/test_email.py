from __future__ import annotations

import email
import logging
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from skylaunch.log.context import RunInfo, run_context, task_log
from skylaunch.log.outputs.email import EmailHandler

from .conftest import MakeRecord

pytestmark = pytest.mark.smtp

Attach = Callable[[logging.Handler], logging.Logger]
WAIT_S = 10


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives and can be made slow or picky."""

    messages: list[tuple[Envelope, Message]] = field(default_factory=list)
    gate: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(WAIT_S)  # blocks the server's loop: a slow SMTP server
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        if handler.gate is not None:
            handler.gate.set()
        controller.stop()


def alert(port: int, **kwargs: Any) -> EmailHandler:
    kwargs.setdefault("receivers", ["ops@example.org"])
    return EmailHandler("127.0.0.1", port, "scheduler@example.org", **kwargs)


def test_a_failed_task_sends_one_mail_with_the_traceback(
    inbox: tuple[Inbox, int], task_logger: Attach, make_record: MakeRecord
) -> None:
    box, port = inbox
    handler = alert(port)
    logger = task_logger(handler)
    logger.handle(make_record("fetch", "run", "r-77"))
    logger.handle(make_record("fetch", "fail", "r-77"))
    logger.handle(make_record("fetch", "success", "r-78"))
    assert handler.drain(WAIT_S)
    assert (handler.sent, handler.failed, handler.dropped) == (1, 0, 0)
    ((envelope, message),) = box.messages
    assert envelope.mail_from == "scheduler@example.org"
    assert envelope.rcpt_tos == ["ops@example.org"]
    assert message["Subject"] == "Task fetch failed"
    assert message["To"] == "ops@example.org"
    body = message.get_payload(decode=True).decode()
    assert "Run id:  r-77" in body
    assert "At:      2024-03-01T" in body
    assert "Traceback (most recent call last):" in body
    assert "ValueError: fetch broke" in body


def test_templates_see_every_documented_field(
    inbox: tuple[Inbox, int], task_logger: Attach, make_record: MakeRecord
) -> None:
    box, port = inbox
    handler = alert(
        port,
        subject="[{level}] {task_name}/{run_id} {action}",
        body="{logger}|{message}|{created}|{host}|{exc_text}",
        receivers=["a@example.org", "b@example.org"],
    )
    task_logger(handler).handle(make_record("etl", "fail", "r1"))
    assert handler.drain(WAIT_S)
    ((envelope, message),) = box.messages
    assert envelope.rcpt_tos == ["a@example.org", "b@example.org"]
    assert message["Subject"] == "[ERROR] etl/r1 fail"
    logger, text, created, host, exc = message.get_payload(decode=True).decode().split("|", 4)
    assert (logger, text) == ("skylaunch.task", "Task 'etl' status: 'fail'")
    assert created.startswith("2024-03-01T")
    assert host == socket.gethostname()
    assert exc.startswith("Traceback")


def test_user_errors_inside_a_run_alert_too_and_info_does_not(
    inbox: tuple[Inbox, int], task_logger: Attach
) -> None:
    box, port = inbox
    handler = alert(port, subject="{task_name}: {message}")
    task_logger(handler)
    with run_context(RunInfo("sync", "r5")):
        task_log("all fine")
        task_log("quota exceeded", "error")
    assert handler.drain(WAIT_S)
    assert [m["Subject"] for _, m in box.messages] == ["sync: quota exceeded"]


def test_a_newline_in_the_subject_cannot_break_the_headers(
    inbox: tuple[Inbox, int], task_logger: Attach, make_record: MakeRecord
) -> None:
    box, port = inbox
    handler = alert(port)
    task_logger(handler).handle(make_record("evil\r\nBcc: x@example.org", "fail"))
    assert handler.drain(WAIT_S)
    ((_, message),) = box.messages
    assert message["Subject"] == "Task evil Bcc: x@example.org failed"
    assert message["Bcc"] is None


def test_emit_returns_before_a_slow_server_answers(
    inbox: tuple[Inbox, int], task_logger: Attach, make_record: MakeRecord
) -> None:
    box, port = inbox
    box.gate = threading.Event()
    handler = alert(port)
    task_logger(handler).handle(make_record("t", "fail"))
    # The server holds the message until the gate opens, so emit cannot have waited for it.
    assert box.entered.wait(WAIT_S)
    assert (handler.sent, box.messages) == (0, [])
    box.gate.set()
    assert handler.drain(WAIT_S)
    assert handler.sent == 1


def test_a_full_queue_drops_and_reports(
    inbox: tuple[Inbox, int],
    task_logger: Attach,
    make_record: MakeRecord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, port = inbox
    box.gate = threading.Event()
    handler = alert(port, max_queue=2)
    logger = task_logger(handler)
    logger.handle(make_record("t", "fail", "1"))
    assert box.entered.wait(WAIT_S)  # the worker holds alert 1 (it counts: in flight)
    logger.handle(make_record("t", "fail", "2"))  # queued
    logger.handle(make_record("t", "fail", "3"))  # dropped
    logger.handle(make_record("t", "fail", "4"))  # dropped, not reported again
    assert handler.dropped == 2
    drops = [r for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert [r.levelno for r in drops] == [logging.WARNING]
    assert "dropped 1 alert(s) since the last report (total dropped 1)" in drops[0].getMessage()
    box.gate.set()
    assert handler.drain(WAIT_S)
    assert handler.sent == 2
    handler.close()  # the drop not reported yet is, with the total
    drops = [r.getMessage() for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert "dropped 1 alert(s) since the last report (total dropped 2)" in drops[-1]


def test_an_unreachable_server_is_retried_reported_once_and_never_raised(
    task_logger: Attach, make_record: MakeRecord, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    handler = alert(port, timeout_s=2, backoff_s=0.01, max_backoff_s=0.02)
    task_logger(handler).handle(make_record("t", "fail"))
    assert handler.drain(0.5) is False  # refused: kept and retried, not dropped
    assert (handler.sent, handler.failed, handler.pending) == (0, 0, 1)
    assert handler._writer.failures >= 2
    (record,) = [r for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(
        f"E-mail alerts to ops@example.org via 127.0.0.1:{port}: write failed"
    )
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionRefusedError)
    handler.close(0)
    assert handler.dropped == 1
    assert "closed with 1 alert(s) unwritten" in caplog.records[-1].getMessage()


def test_a_refused_recipient_is_logged_with_the_servers_answer(
    inbox: tuple[Inbox, int],
    task_logger: Attach,
    make_record: MakeRecord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, port = inbox
    box.refuse = {"ops@example.org"}
    handler = alert(port)
    task_logger(handler).handle(make_record("t", "fail"))
    assert handler.drain(WAIT_S)
    assert handler.failed == 1
    (record,) = [r for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert record.exc_text is None or "550" in record.exc_text
    assert record.exc_info is not None
    assert "no such mailbox" in str(record.exc_info[1])


def test_login_with_username_and_password(task_logger: Attach, make_record: MakeRecord) -> None:
    seen: list[tuple[str, bytes, bytes]] = []

    def authenticator(
        server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((mechanism, data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    box = Inbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        handler = alert(controller.port, username="bot", password="s3cret")
        task_logger(handler).handle(make_record("t", "fail"))
        assert handler.drain(WAIT_S)
    finally:
        controller.stop()
    assert handler.sent == 1
    assert [login for _, login, _ in seen] == [b"bot"]
    assert len(box.messages) == 1


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_verifies_the_server_certificate(
    self_signed: tuple[Path, Path],
    task_logger: Attach,
    make_record: MakeRecord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cert, key = self_signed
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box = Inbox()
    controller = Controller(
        box, hostname="127.0.0.1", port=free_port(), tls_context=server_tls, require_starttls=True
    )
    controller.start()
    try:
        trusting = alert(
            controller.port,
            use_tls=True,
            ssl_context=ssl.create_default_context(cafile=str(cert)),
        )
        untrusting = alert(controller.port, use_tls=True)  # system CAs: must refuse
        logger = task_logger(trusting)
        task_logger(untrusting)
        logger.handle(make_record("t", "fail"))
        assert trusting.drain(WAIT_S)
        assert untrusting.drain(WAIT_S)
    finally:
        controller.stop()
    assert (trusting.sent, untrusting.sent, untrusting.failed) == (1, 0, 1)
    assert len(box.messages) == 1
    (record,) = [r for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ssl.SSLCertVerificationError)


def test_after_close_alerts_are_dropped(
    inbox: tuple[Inbox, int], make_record: MakeRecord, caplog: pytest.LogCaptureFixture
) -> None:
    box, port = inbox
    handler = alert(port)
    handler.handle(make_record("t", "fail", "1"))
    handler.close()  # delivers what was queued
    assert handler.sent == 1
    handler.handle(make_record("t", "fail", "2"))
    assert (handler.sent, handler.dropped) == (1, 1)
    assert len(box.messages) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subject": "Task {task} failed"}, r"subject: unknown field\(s\) \{task\}"),
        ({"body": "{run_id} {traceback}"}, r"body: unknown field\(s\) \{traceback\}"),
        ({"body": "{}"}, r"body: unknown field\(s\) \{\}"),
        ({"subject": "{task_name:>d}"}, "subject: '{task_name:>d}' does not render"),
        ({"subject": "{task_name"}, "subject: '{task_name' is not a template"),
        ({"receivers": []}, "receivers: got \\[\\]"),
        ({"receivers": ["nobody"]}, "receivers: got \\['nobody'\\]"),
        ({"use_tls": True, "use_ssl": True}, "exclude each other"),
        ({"username": "bot"}, "both username and password"),
        ({"level": "loud"}, "level: got 'loud'"),
        ({"timeout_s": 0}, "timeout_s: got 0"),
        ({"max_queue": 0}, "max_queue: got 0"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 25,
        "sender": "s@example.org",
        "receivers": ["r@example.org"],
    }
    with pytest.raises(ValueError, match=message):
        EmailHandler(**{**base, **kwargs})


def test_bad_port_and_sender_are_named() -> None:
    with pytest.raises(ValueError, match="port: got 0"):
        EmailHandler("h", 0, "s@example.org", "r@example.org")
    with pytest.raises(ValueError, match="sender: got 'me'"):
        EmailHandler("h", 25, "me", "r@example.org")


def test_no_thread_is_started_before_the_first_alert(task_logger: Attach) -> None:
    before = set(threading.enumerate())  # another test's sender may still be winding down
    handler = EmailHandler("127.0.0.1", 25, "s@example.org", "r@example.org")
    task_logger(handler).info("not an alert")
    assert set(threading.enumerate()) - before == set()
    assert handler.sent + handler.failed + handler.dropped == 0
