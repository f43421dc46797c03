"""CommandTask: arguments, environment, failures carrying stderr, timeouts killing the command."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from skylaunch import App, CommandTask
from skylaunch.exc import TaskDefinitionError, TaskTermination
from skylaunch.tasks.command import CommandError, RunCommand
from skylaunch.testing import run_for, simulated_app
from tests.execution.test_contract import Collector, Running, records  # noqa: F401

PY = sys.executable


def test_list_command_with_params_cwd_and_env(tmp_path: Path) -> None:
    app = simulated_app()
    script = "import os, sys; print(os.getcwd(), os.environ['GREETING'], *sys.argv[1:])"
    task = CommandTask(
        [PY, "-c", script],
        name="echo",
        cwd=tmp_path,
        env={"GREETING": "hello"},
        parameters={"n": 3},
        session=app.session,
    )
    task.run(mode="fast")
    run_for(app, "1 second")
    assert app.session.returns["echo"].split() == [
        str(tmp_path),
        "hello",
        "--n",
        "3",
        "--mode",
        "fast",
    ]


def test_string_command_is_split_without_a_shell() -> None:
    app = simulated_app()
    CommandTask(f"{PY} -c 'print(1 + 1)' && echo no-shell", name="calc", session=app.session)
    call = app.session["calc"].target()
    assert isinstance(call, RunCommand)
    assert call.argv({}) == [PY, "-c", "print(1 + 1)", "&&", "echo", "no-shell"]


def test_shell_true_runs_through_the_shell() -> None:
    app = simulated_app()
    app.task(command="echo one && echo two", name="sh", shell=True)
    app.session["sh"].run()
    run_for(app, "1 second")
    assert app.session.returns["sh"].split() == ["one", "two"]


def test_nonzero_exit_fails_with_the_tail_of_stderr() -> None:
    app = simulated_app()
    script = "import sys; sys.stderr.write('x' * 5000 + 'the real reason'); sys.exit(3)"
    app.task(command=[PY, "-c", script], name="bad")
    app.session["bad"].run()
    run_for(app, "1 second")
    (record,) = app.session.get_task_log(task_name="bad", action="fail")
    text = record.exc_text if hasattr(record, "exc_text") else record["exc_text"]
    assert "exited with code 3" in text
    assert text.rstrip().endswith("the real reason")
    assert "x" * 2500 not in text  # only the tail


def test_command_error_message() -> None:
    err = CommandError(["a", "b c"], 2, "oops")
    assert str(err) == "command \"a 'b c'\" exited with code 2; stderr:\noops"


def test_own_timeout_kills_the_command_in_main_execution() -> None:
    run = RunCommand((PY, "-c", "import time; time.sleep(30)"), timeout_s=0.2)
    with pytest.raises(TaskTermination, match=r"timed out after 0\.2 s"):
        run()


def test_flag_kills_the_command() -> None:
    flag = threading.Event()
    flag.set()
    run = RunCommand((PY, "-c", "import time; time.sleep(30)"))
    with pytest.raises(TaskTermination, match="terminated"):
        run(_skylaunch_termination_flag=flag)


@pytest.mark.parametrize(
    ("command", "match"),
    [
        ("", "non-empty command"),
        ([], "string or a non-empty list"),
        ([1, 2], "string or a non-empty list"),
        ("echo 'unclosed", "does not split"),
    ],
)
def test_bad_commands_fail_at_definition(command: object, match: str) -> None:
    app = simulated_app()
    with pytest.raises(TaskDefinitionError, match=match):
        CommandTask(command, name="x", session=app.session)  # type: ignore[arg-type]


def test_bad_env_and_argform_fail_at_definition() -> None:
    app = simulated_app()
    with pytest.raises(TaskDefinitionError, match="env must map str to str"):
        CommandTask(["true"], name="x", env={"A": 1}, session=app.session)  # type: ignore[dict-item]
    with pytest.raises(TaskDefinitionError, match="argform"):
        CommandTask(["true"], name="y", argform="+", session=app.session)


def test_default_name_is_the_command() -> None:
    app = simulated_app()
    assert CommandTask(["echo", "a b"], session=app.session).name == "echo 'a b'"


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_terminated_command_leaves_no_process(
    mode: str,
    tmp_path: Path,
    records: Collector,  # noqa: F811
) -> None:
    pid_file = tmp_path / "pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    )
    app = App(config={"execution": mode})
    app.task(command=[PY, "-c", script], name="sleeper")
    tick = threading.Event()
    with Running(app):
        app.session["sleeper"].run()
        for _ in range(200):  # until the command has started and written its pid
            if pid_file.exists() and pid_file.read_text():
                break
            tick.wait(0.05)
        app.session["sleeper"].terminate()
        records.wait_action("sleeper", "terminate")
    pid = int(pid_file.read_text())
    gone = threading.Event()

    def probe() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    for _ in range(100):  # the orphan is reaped by init shortly after the kill
        if probe():
            gone.set()
            break
        gone.wait(0.05)
    assert gone.is_set(), f"command process {pid} survived"


@pytest.mark.parametrize(("argform", "option"), [("short", "-n"), ("long", "--n"), ("-", "-n")])
def test_argform_short_and_long_as_rocketry_spells_them(argform: str, option: str) -> None:
    app = simulated_app()
    task = CommandTask(["prog"], name="x", argform=argform, session=app.session)
    assert task.argform == option[:-1]
    assert task.target().argv({"n": 3}) == ["prog", option, "3"]
