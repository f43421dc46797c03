"""Run Rocketry 2.5.1's own test suite against skylaunch, with its imports rewritten.

Not part of skylaunch's suite: it measures how far "an import change" goes for code written
against Rocketry (issues 18 and 20). It needs a venv with Rocketry 2.5.1 installed (for the tests'
source, which ships in Rocketry's package) and runs the rewritten copy with *this* interpreter,
the one skylaunch is installed in::

    python3 -m venv /work/peers/rocketry
    /work/peers/rocketry/bin/pip install "rocketry==2.5.1" "pydantic<2" "redbird==0.7.1" \
        "sqlalchemy>=1.4,<2"
    .venv/bin/python bench/rocketry_suite.py --peer /work/peers/rocketry [--keep DIR] [-k EXPR]

What it does:

1. copies ``rocketry/test`` from the peer's site-packages into a temporary folder (never into
   the repository);
2. rewrites module paths as the migration page says (``rocketry.conditions`` ->
   ``skylaunch.conds``, ``rocketry.time.interval`` -> ``skylaunch.time``, ``redbird.repos`` ->
   ``skylaunch.log.repos``, ``Rocketry`` -> ``App``, logger ``rocketry.task`` ->
   ``skylaunch.task``...) and nothing else in the test bodies;
3. replaces Rocketry's ``conftest.py`` with one giving the same fixtures on skylaunch (a fresh
   session per test whose clock follows ``time.time``, so the tests' ``mock_time`` fixtures move
   it; the same ``mock_datetime_now``/``mock_pydatetime``/``script_files`` helpers);
4. replaces Rocketry's test helpers that reach into its internals (``wait_till_task_finish``
   called ``Scheduler.handle_logs``) with ones doing the same on skylaunch;
5. runs pytest there and sorts every test into *public* or *internal* by the explicit rules
   below (``INTERNAL_RULES``, printed with their counts), and every failure into a group by its
   exception and message. A test is internal when its file imports a Rocketry module with no
   counterpart by design (``rocketry.pybox``, ``rocketry.core.hook``...: the ``None`` entries
   of ``MODULES``), or when its own body uses a name of Rocketry's internals that its
   documentation does not give users (each rule names the names and why). Rules apply to a
   test whether it passes or fails.

The pass rate reported is over public tests that ran (skips excluded). ``--json`` writes the
figures for comparison between branches.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

# Longest prefix first. Values: the skylaunch module, or None for a Rocketry internal that has
# no counterpart by design (a test file importing one counts as "internal").
MODULES: list[tuple[str, str | None]] = [
    ("rocketry.conditions.api", "skylaunch.conds"),
    ("rocketry.conditions.scheduler", "skylaunch.conds"),
    ("rocketry.conditions.task.task", "skylaunch.conds"),
    ("rocketry.conditions.task", "skylaunch.conds"),
    ("rocketry.conditions", "skylaunch.conds"),
    ("rocketry.conds", "skylaunch.conds"),
    ("rocketry.core.condition.base", "skylaunch.conds"),
    ("rocketry.core.condition", "skylaunch.conds"),
    ("rocketry.core.time.base", "skylaunch.time"),
    ("rocketry.core.time", "skylaunch.time"),
    ("rocketry.core.log.adapter", "skylaunch.log.adapter"),
    ("rocketry.core.log", "skylaunch.log.adapter"),
    ("rocketry.core.task", None),
    ("rocketry.core.hook", None),
    ("rocketry.core.parameters.parameters", "skylaunch.args"),
    ("rocketry.core.time.anchor", None),
    ("rocketry.core", "skylaunch"),
    ("rocketry.time.interval", "skylaunch.time"),
    ("rocketry.time.delta", "skylaunch.time"),
    ("rocketry.time.cron", "skylaunch.time"),
    ("rocketry.time", "skylaunch.time"),
    ("rocketry.tasks.maintain", "skylaunch.tasks.maintain"),
    ("rocketry.tasks.run_id", "skylaunch.tasks.run_id"),
    ("rocketry.tasks.func", "skylaunch.tasks"),
    ("rocketry.tasks", "skylaunch.tasks"),
    ("rocketry.args.builtin", "skylaunch.args"),
    ("rocketry.args", "skylaunch.args"),
    ("rocketry.log.log_record", "skylaunch.log"),
    ("rocketry.log", "skylaunch.log"),
    ("rocketry.exc", "skylaunch.exc"),
    ("rocketry.session", "skylaunch"),
    ("rocketry.parse.condition", "skylaunch.conds"),
    ("rocketry.parse.utils", "skylaunch.exc"),
    ("rocketry.parse", "skylaunch.conds"),
    # Test helpers, not what the tests test: given by the harness (``HELPERS``).
    ("rocketry.pybox.time.convert", "_rocketry_helpers"),
    ("rocketry.pybox.time", "_rocketry_helpers"),
    ("rocketry.testing.log", "_rocketry_helpers"),
    ("rocketry.pybox", None),
    ("rocketry.utils", None),
    ("rocketry.testing", None),
    ("rocketry._temp_test", None),
    ("rocketry.version", None),
    ("rocketry.parameters", None),
    ("redbird.repos", "skylaunch.log.repos"),
    ("redbird.logging", "skylaunch.log"),
]

# ``from rocketry.core import X`` / ``from rocketry import X``: where each name lives now.
# None: no counterpart by design (the import fails, the test counts as failing).
CORE_NAMES: dict[str, str | None] = {
    "BaseCondition": "skylaunch.conds",
    "TimePeriod": "skylaunch.time",
    "Task": "skylaunch.tasks",
    "Scheduler": "skylaunch.scheduler",
    "Session": "skylaunch",
    "Config": "skylaunch",
    "Rocketry": "skylaunch",
    "Grouper": "skylaunch",
    "BaseArgument": "skylaunch.args",
    "Parameters": "skylaunch.args",
}

# A test whose own source matches one of these uses Rocketry's internals, not its documented
# API: (rule, pattern, why). Reviewable on purpose; tests of documented behaviour stay public
# even when they fail.
INTERNAL_RULES: list[tuple[str, str, str]] = [
    (
        "cron-subperiods",
        r"\.get_subperiod\(",
        "Cron.get_subperiod: how Rocketry's Cron builds itself from TimeOfX periods",
    ),
    (
        "scheduler-internals",
        r"\.(handle_logs|n_alive|check_shut_cond|_flag_shutdown|n_cycles)\b",
        "Scheduler methods/counters Rocketry's loop uses (its docs give session.run/start)",
    ),
    (
        "task-cache",
        r"\.set_cached\(",
        "Task.set_cached: Rocketry's status cache, filled from its repo",
    ),
    (
        "parameter-materialize",
        r"\.materialize\(",
        "Parameters.materialize: Rocketry's resolving of arguments before a run",
    ),
    (
        "asserts-private-attribute",
        r"^\s*assert\b[^\n]*\w\._[a-z]\w*",
        "an assert reads an underscore attribute of a Rocketry object",
    ),
]

TASK_HELPERS = '''
"""Rocketry's task helpers, made on skylaunch (its wait_till_task_finish polled Scheduler.handle_logs)."""
import time

TOLERANCE = 2


def wait_till_task_finish(task):
    start = time.monotonic()
    while task.is_alive():
        time.sleep(0.001)
        if time.monotonic() - start >= TOLERANCE:
            raise TimeoutError("Task did not finish.")
'''

NAMES = {
    "Rocketry": "App",
    "ParserError": "ConditionParseError",
    "BaseCondition": "Condition",
}

_FROM_CORE = re.compile(
    r"^(\s*)from\s+(rocketry\.core|rocketry|rocketry\.session)\s+import\s+(\([^)]*\)|[^\n]+)",
    re.MULTILINE,
)
_IMPORT = re.compile(r"^(\s*)(from|import)\s+((?:rocketry|redbird)[\w.]*)", re.MULTILINE)


def _target(module: str) -> tuple[str | None, bool]:
    """(skylaunch module or None, whether it is public) for a Rocketry module path."""
    if module in ("rocketry", "redbird"):
        return ("skylaunch", True)
    for prefix, target in MODULES:
        if module == prefix or module.startswith(prefix + "."):
            return (target, target is not None)
    return (None, False)


def rewrite(source: str) -> tuple[str, bool]:
    """The rewritten source and whether it imports only public Rocketry modules."""
    public = True

    def imports(match: re.Match[str]) -> str:
        nonlocal public
        indent, word, module = match.groups()
        target, ok = _target(module)
        public = public and ok
        if target is None:
            return match.group(0)  # left as is: it fails to import, which is the point
        if word == "import" and module in ("rocketry", "redbird"):
            return f"{indent}import skylaunch as {module}"
        return f"{indent}{word} {target}"

    def core(match: re.Match[str]) -> str:
        indent, _module, names = match.groups()
        lines = []
        for part in names.replace("(", "").replace(")", "").split(","):
            if not part.strip():
                continue
            name = part.split()[0]
            lines.append(
                f"{indent}from {CORE_NAMES.get(name) or 'skylaunch'} import {part.strip()}"
            )
        return "\n".join(lines)

    source = _FROM_CORE.sub(core, source)
    out = _IMPORT.sub(imports, source)
    for old, new in NAMES.items():
        out = re.sub(rf"\b{old}\b", new, out)
    out = re.sub(r"(['\"])rocketry\.(task|scheduler)", r"\1skylaunch.\2", out)
    return out, public


HELPERS = '''
"""Rocketry's test helpers (to_datetime, Interval, create_task_record), for the rewritten suite."""
import datetime
import logging

from dateutil.parser import parse

# Rocketry's pandas-like interval (rocketry.pybox.time.Interval): skylaunch's public one, which
# reads Rocketry's left/right/closed.
from skylaunch.time import Interval


def to_datetime(s, timezone=None):
    if isinstance(s, str):
        dt = parse(s)
    elif isinstance(s, (int, float)):
        dt = datetime.datetime.fromtimestamp(s)
    elif hasattr(s, "timestamp"):
        dt = datetime.datetime.fromtimestamp(s.timestamp()) if not isinstance(
            s, datetime.datetime) else s
    else:
        raise TypeError(f"Cannot convert to datetime: {type(s)}")
    return dt.astimezone(timezone) if timezone is not None else dt


def create_task_record(*args, task_name, action, created=None, **kwargs):
    actions = ("run", "fail", "success", "terminate", "inaction", "crash")  # Rocketry's Task._actions
    if action not in actions:
        raise ValueError(f"Allowed actions: {actions}")
    fields = {"name": "skylaunch.task", "pathname": "", "lineno": 1, "msg": "", "args": None,
              "exc_info": None, "level": logging.ERROR if action == "fail" else logging.INFO}
    fields.update(kwargs)
    record = logging.LogRecord(**fields)
    if created is not None:
        if isinstance(created, str):
            created = to_datetime(created)
        if isinstance(created, float):
            created = int(created)
        if not isinstance(created, int):
            created = int(created.timestamp())
        record.created = created
        record.msecs = 0
    record.task_name = task_name
    record.action = action
    return record
'''

CONFTEST = '''
"""Rocketry's test fixtures, made on skylaunch (written by bench/rocketry_suite.py)."""
import datetime
import logging
import os
import sys
import time
from pathlib import Path

import pytest
from dateutil.parser import parse as parse_datetime

import skylaunch
from skylaunch import Session
from skylaunch.log import MinimalRecord, RepoHandler
from skylaunch.log.repos import MemoryRepo

sys.path.append(os.path.join(os.path.dirname(__file__), "helpers"))


class FollowingClock(skylaunch.time.SystemClock):
    """The system clock, read through time.time so that the tests' mock_time moves it."""

    def now(self):
        return datetime.datetime.fromtimestamp(time.time(), self.tz)


def copy_file_to_tmpdir(tmpdir, source_file, target_path):
    target_path = Path(target_path)
    source_path = Path(os.path.dirname(__file__)) / "test_files" / source_file
    fh = tmpdir.join(target_path.name)
    fh.write(source_path.read_text(encoding="utf-8"))
    return fh


@pytest.fixture(autouse=True)
def no_process_replacement(monkeypatch):
    """A restart under config.restarting="replace" would exec a new pytest in this process
    (and loop): make it a failure of the test that asked for it."""

    def refuse(*args):
        raise RuntimeError("the test asked to replace the test process (config.restarting)")

    monkeypatch.setattr(os, "execv", refuse)


@pytest.fixture(autouse=True)
def sys_paths():
    orig = sys.path.copy()
    yield
    sys.path = orig


@pytest.fixture
def script_files(tmpdir):
    for folder in Path("scripts").parts:
        tmpdir = tmpdir.mkdir(folder)
    for name in ("succeeding_script.py", "failing_script.py", "parameterized_script.py",
                 "parameterized_kwargs_script.py", "syntax_error_script.py"):
        copy_file_to_tmpdir(tmpdir, source_file=name, target_path="scripts/" + name)


@pytest.fixture(scope="function", autouse=True)
def session():
    task_logger = logging.getLogger("skylaunch.task")
    task_logger.handlers = [RepoHandler(repo=MemoryRepo(model=MinimalRecord))]
    task_logger.setLevel(logging.INFO)
    task_logger.disabled = False
    logging.getLogger("skylaunch.scheduler").disabled = False
    session = Session(
        config={
            "silence_task_prerun": False,
            "silence_task_logging": False,
            "silence_cond_check": False,
            "cycle_sleep": 0.001,
            "execution": "process",
        },
        clock=FollowingClock(),
    )
    return session


@pytest.fixture
def mock_datetime_now(monkeypatch):
    class mockdatetime(datetime.datetime):
        _freezed_datetime = None

        @classmethod
        def now(cls, tz=None):
            return cls._freezed_datetime

    def wrapper(dt):
        dt = parse_datetime(dt)
        mockdatetime._freezed_datetime = mockdatetime(
            dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond
        )
        monkeypatch.setattr(datetime, "datetime", mockdatetime)
        mocktime = dt.timestamp()
        monkeypatch.setattr(time, "time", lambda: mocktime)

    yield wrapper


@pytest.fixture
def mock_time(monkeypatch):
    def wrapper(dt):
        mocktime = parse_datetime(dt).timestamp()
        monkeypatch.setattr(time, "time", lambda: mocktime)

    return wrapper


@pytest.fixture
def mock_pydatetime(mock_time, mock_datetime_now):
    def wrapper(dt):
        mock_time(dt)
        mock_datetime_now(dt)

    return wrapper
'''


def internal_tests(path: Path, source: str) -> dict[tuple[str, str], str]:
    """{(test file, test function): rule} for the tests in ``source`` an INTERNAL_RULES rule matches."""
    found: dict[tuple[str, str], str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
            "test"
        ):
            body = ast.get_source_segment(source, node) or ""
            for rule, pattern, _why in INTERNAL_RULES:
                if re.search(pattern, body, re.MULTILINE):
                    found[(str(path), node.name)] = rule
                    break
    return found


def prepare(peer: Path, dest: Path) -> tuple[dict[str, bool], dict[tuple[str, str], str]]:
    """Copy and rewrite the suite into ``dest``; return ({test file: public}, internal tests)."""
    found = sorted(peer.glob("lib/python3*/site-packages/rocketry/test"))
    if not found:
        raise SystemExit(f"no rocketry/test under {peer}: install rocketry==2.5.1 there")
    src = found[0]
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    files: dict[str, bool] = {}
    tests: dict[tuple[str, str], str] = {}
    for path in dest.rglob("*.py"):
        text, public = rewrite(path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")
        if path.name.startswith("test_"):
            rel = path.relative_to(dest.parent)
            files[str(rel)] = public and "pybox" not in rel.parts
            tests.update(internal_tests(rel, text))
    (dest / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (dest / "helpers" / "_rocketry_helpers.py").write_text(HELPERS, encoding="utf-8")
    (dest / "helpers" / "task_helpers.py").write_text(TASK_HELPERS, encoding="utf-8")
    (dest / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return files, tests


def collect(peer: Path, dest: Path) -> Counter[str]:
    """Tests per file, as Rocketry's own interpreter collects them (a file that fails to
    import here still counts with all its tests)."""
    python = peer / "bin" / "python"
    out = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--co",
            "--pyargs",
            "rocketry.test",
        ],
        cwd=dest.parent,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counts: Counter[str] = Counter()
    for line in out.splitlines():
        if "::" in line:
            path = line.split("::")[0]
            counts["rtest/" + path.split("rocketry/test/", 1)[-1]] += 1
    return counts


def _group(message: str) -> str:
    """A failure's group: its exception and the message's first words, numbers blanked."""
    first = message.strip().splitlines()[0] if message.strip() else "?"
    first = re.sub(r"0x[0-9a-f]+", "0x…", first)
    first = re.sub(r"\d+", "N", first)
    first = re.sub(r"'[^']*'", "'…'", first)
    return first[:110]


def run(
    dest: Path,
    files: dict[str, bool],
    tests: dict[tuple[str, str], str],
    sizes: Counter[str],
    extra: list[str],
) -> dict[str, object]:
    report = dest.parent / "report.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--timeout=60",
        "--continue-on-collection-errors",
        f"--junitxml={report}",
        "--rootdir",
        str(dest.parent),
        str(dest.name),
        *extra,
    ]
    subprocess.run(
        cmd, cwd=dest.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    tree = ET.parse(report)
    counts: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    failing: list[str] = []
    for case in tree.iter("testcase"):
        dotted = case.get("classname") or case.get("name", "")
        parts = [p for p in dotted.split(".") if not p[:1].isupper()]  # drop a test class
        path = "/".join(parts) + ".py"
        rule = tests.get((path, case.get("name", "").split("[")[0]))
        if not files.get(path, True):
            rule = "imports-internal-module"
        public = rule is None
        kind = "public" if public else "internal"
        outcome = "passed"
        weight = 1
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                message = child.get("message", "")
                if message.startswith("collection failure"):
                    # the whole file: every test Rocketry collects in it
                    weight = max(1, sizes.get(path, 1))
                    lines = [ln for ln in (child.text or "").splitlines() if ln.startswith("E ")]
                    message = lines[-1][1:].strip() if lines else message
                if public:
                    groups[_group(message)] += weight
                    failing.append(f"{case.get('classname')}::{case.get('name')}")
            elif child.tag == "skipped":
                outcome = "skipped"
        counts[f"{kind} {outcome}"] += weight
        if rule is not None:
            by_rule[f"{rule} {outcome}"] += weight
    ran = counts["public passed"] + counts["public failed"]
    return {
        "counts": dict(counts),
        "public_pass_rate": round(100 * counts["public passed"] / ran, 1) if ran else 0.0,
        "groups": groups.most_common(),
        "internal_by_rule": dict(sorted(by_rule.items())),
        "failing": failing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, default=Path("/work/peers/rocketry"))
    parser.add_argument("--keep", type=Path, help="rewrite into this folder and keep it")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--groups", type=int, default=40, help="failure groups to print")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rocketry-suite-"))
    dest = work / "rtest"
    if dest.exists():
        shutil.rmtree(dest)
    work.mkdir(parents=True, exist_ok=True)
    files, tests = prepare(args.peer, dest)
    sizes = collect(args.peer, dest)
    result = run(dest, files, tests, sizes, args.pytest_args)
    counts = result["counts"]
    print(json.dumps(counts, sort_keys=True))
    print("internal tests by rule (rule outcome: tests):")
    for key, n in result["internal_by_rule"].items():  # type: ignore[attr-defined]
        print(f"  {key}: {n}")
    for rule, pattern, why in INTERNAL_RULES:
        print(f"  rule {rule}: {why} ({pattern})")
    print(f"public pass rate: {result['public_pass_rate']} %")
    for group, n in result["groups"][: args.groups]:  # type: ignore[index]
        print(f"{n:5d}  {group}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
