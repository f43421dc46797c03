"""Watch what the log outputs write, without a scheduler: a task that fails once, then succeeds.

Run ``python examples/log_outputs.py`` for the file log alone; add ``--redis URL`` to publish the
same records to Redis and ``--smtp HOST:PORT --to ADDRESS`` to mail the failure.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from skylaunch.log.context import RunInfo, run_context, task_log
from skylaunch.log.outputs import EmailHandler, FileLogger

task_logger = logging.getLogger("skylaunch.task")


def log_action(task_name: str, action: str, run_id: str, start: datetime) -> None:
    """Log a status record shaped as the scheduler's (the scheduler does this for real tasks)."""
    now = datetime.now(timezone.utc)
    extra = {
        "task_name": task_name,
        "action": action,
        "run_id": run_id,
        "start": start,
        "end": None if action == "run" else now,
        "runtime": None if action == "run" else now - start,
    }
    message = f"Task '{task_name}' status: '{action}'"
    if action == "fail":
        task_logger.exception(message, extra=extra)
    else:
        task_logger.info(message, extra=extra)


def fetch(attempt: int) -> None:
    task_log(f"connecting (attempt {attempt})")
    logging.getLogger("example.client").info("this line names the run too")
    if attempt == 1:
        raise TimeoutError("upstream did not answer")
    task_log("fetched 120 rows")


def run(task_name: str, run_id: str, attempt: int) -> None:
    start = datetime.now(timezone.utc)
    with run_context(RunInfo(task_name, run_id)):
        log_action(task_name, "run", run_id, start)
        try:
            fetch(attempt)
        except Exception:
            log_action(task_name, "fail", run_id, start)
        else:
            log_action(task_name, "success", run_id, start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, help="log file (default: a temporary one)")
    parser.add_argument("--redis", metavar="URL", help="also publish to this Redis")
    parser.add_argument("--smtp", metavar="HOST:PORT", help="also mail failures through this")
    parser.add_argument("--to", default="ops@example.org", help="alert receiver")
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory()
    path = args.file or Path(workdir.name) / "tasks.log"
    task_logger.setLevel(logging.INFO)
    file_log = FileLogger(path, log_lifecycle=True)
    task_logger.addHandler(file_log)
    # The user's own logger: the file logger stamps the run on its lines as well.
    logging.getLogger("example").addHandler(file_log)
    logging.getLogger("example").setLevel(logging.INFO)
    if args.redis:
        from skylaunch.log.outputs.redis import RedisStreamHandler  # needs skylaunch[redis]

        task_logger.addHandler(RedisStreamHandler(args.redis))
    if args.smtp:
        host, _, port = args.smtp.rpartition(":")
        task_logger.addHandler(EmailHandler(host, int(port), "scheduler@example.org", args.to))

    run("fetch", "run-0001", attempt=1)
    run("fetch", "run-0002", attempt=2)

    logging.shutdown()  # flushes the Redis queue and pending e-mails
    print(f"--- {path}")
    print(path.read_text(encoding="utf-8"), end="")
    workdir.cleanup()


if __name__ == "__main__":
    main()
