"""The public surface is explicit, and the layers only import downwards."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import skylaunch

SRC = Path(skylaunch.__file__).parent

# module prefix -> layer; a module may import its own layer and the ones below it.
LAYERS = [
    ("skylaunch.exc", 0),
    ("skylaunch._tasknames", 0),
    ("skylaunch._lazy", 0),
    ("skylaunch._frozen", 0),
    ("skylaunch.time", 1),
    ("skylaunch.history", 2),
    ("skylaunch.log", 2),
    ("skylaunch.conds", 3),
    ("skylaunch.args", 4),
    ("skylaunch._hooks", 4),
    ("skylaunch.tasks", 4),
    ("skylaunch.execution", 4),
    ("skylaunch._scheduler", 5),
    ("skylaunch.scheduler", 5),
    ("skylaunch.config", 5),
    ("skylaunch._config_model", 5),
    ("skylaunch._journal", 5),
    ("skylaunch.coordination", 5),
    ("skylaunch.session", 6),
    ("skylaunch.app", 7),
    ("skylaunch.control", 7),
    ("skylaunch.embed", 7),
    ("skylaunch.testing", 8),
    ("skylaunch.cli", 8),
    ("skylaunch.http", 8),
    ("skylaunch.metrics", 8),
    ("skylaunch.dashboard", 8),
    ("skylaunch", 9),
]


def layer_of(module: str) -> int:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"no layer for {module}")


def modules() -> list[str]:
    return ["skylaunch"] + [i.name for i in pkgutil.walk_packages([str(SRC)], prefix="skylaunch.")]


#: Internal modules without a leading underscore (none left: internal modules are '_'-named).
#: What they define is not public, so no public module may list it.
INTERNAL_MODULES: set[str] = set()
#: Internals that once were listed as public; they must stay out of every public ``__all__``.
NEVER_PUBLIC = {"restore_times", "restore_recent", "restore_query", "PHRASES", "TRUSTED_FIELDS"}


def is_private(module: str) -> bool:
    return module in INTERNAL_MODULES or any(part.startswith("_") for part in module.split(".")[1:])


def defined_public_names(path: Path) -> set[str]:
    """Names a module defines at its top level (functions, classes, assignments), without a
    leading underscore; type variables are left out (they are no API)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id in ("TypeVar", "ParamSpec")
            ):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in found if not name.startswith("_")}


@pytest.mark.parametrize("name", modules())
def test_all_lists_exactly_the_public_names(name: str) -> None:
    """Both ways: every public name a module defines is listed, and nothing private is."""
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if is_private(name):
        return
    assert exported is not None, f"{name} has no __all__"
    for public in exported:
        assert hasattr(module, public), f"{name}.__all__ names missing {public}"
        assert not public.startswith("_"), f"{name}.__all__ lists the private name {public}"
        assert public not in NEVER_PUBLIC, f"{name}.__all__ lists the internal {public}"
        home = getattr(getattr(module, public), "__module__", None)
        if isinstance(home, str) and home.startswith("skylaunch"):
            assert not is_private(home), f"{name}.__all__ lists {public} of internal {home}"
    assert len(set(exported)) == len(exported)
    assert module.__file__ is not None
    unlisted = defined_public_names(Path(module.__file__)) - set(exported)
    assert not unlisted, f"{name} defines public names its __all__ leaves out: {sorted(unlisted)}"


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported skylaunch module, is it only for type checking)."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in ast.walk(node):
                type_only.add(id(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("skylaunch"):
            found.append((node.module, id(node) in type_only))
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, id(node) in type_only)
                for alias in node.names
                if alias.name.startswith("skylaunch")
            )
    return found


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_layers_only_import_downwards(path: Path) -> None:
    rel = path.relative_to(SRC.parent).with_suffix("")
    name = ".".join(rel.parts).removesuffix(".__init__")
    own = layer_of(name)
    for imported, type_only in _imports(path):
        if type_only:
            continue
        assert layer_of(imported) <= own, (
            f"{name} (layer {own}) imports {imported} ({layer_of(imported)})"
        )


#: Modules below the scheduler: they get what they read (a context, a protocol), and must not
#: reach upward through an object they were given (``ctx.session.scheduler.cycles``).
LOWER = ("conds", "tasks", "_journal.py", "history.py", "log", "time")
#: What a lower package may read of a session it holds. A task is a definition bound to its
#: session: it reads the definition-level parts (defaults in the config, the named conditions,
#: the executors it may name, its history); a task adapter is Rocketry's logger object.
SESSION_READS = {
    "tasks": {
        "config",
        "grammar",
        "executors",
        "history",
        "clock",
        "parameters",
        "registry",
        "get",
        "run",
    },
    "log": {"config", "repo", "set_repo", "handle_record"},
}


def upward_chains(source: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Attribute chains in ``source`` that reach the scheduler or go on past a session.

    ``x.scheduler`` (any use of a ``scheduler`` attribute) and ``x.session.y`` (reading
    ``y`` of a session reached through another object, unless ``y`` is ``allowed``) are
    upward; ``ctx.session`` handed on as a whole (an argument's ``session=``) is not.
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        inner = node.value
        if node.attr == "scheduler" or (
            isinstance(inner, ast.Attribute)
            and inner.attr == "session"
            and node.attr not in allowed
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_upward_chain_check_finds_what_it_looks_for() -> None:
    bad = "ctx.session.scheduler.cycles\nself.session.history.of(n)\nsession.scheduler.fail(e)\n"
    assert len(upward_chains(bad)) == 3
    assert len(upward_chains(bad, frozenset({"history"}))) == 2
    good = "ctx.cycles\narg.get_value(session=ctx.session)\nself._runtime.notify(n)\n"
    assert upward_chains(good) == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in LOWER),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_lower_layers_do_not_reach_upward_through_attributes(path: Path) -> None:
    allowed = frozenset(SESSION_READS.get(path.relative_to(SRC).parts[0], ()))
    assert upward_chains(path.read_text(), allowed) == []


def test_only_the_clock_reads_the_wall_clock() -> None:
    pattern = re.compile(r"datetime\.now\(|\.utcnow\(|date\.today\(|time\.time\(")
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "clock.py" and pattern.search(p.read_text())
    ]
    assert offenders == []


def test_importing_skylaunch_does_not_import_optional_or_heavy_packages() -> None:
    import subprocess
    import sys

    code = (
        "import sys, skylaunch, skylaunch.conds, skylaunch.testing;"
        "heavy = [m for m in ('sqlalchemy', 'redis', 'psycopg', 'aiosmtpd') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
