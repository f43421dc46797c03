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
    ("skylaunch.time", 1),
    ("skylaunch.history", 2),
    ("skylaunch.log", 2),
    ("skylaunch.conds", 3),
    ("skylaunch.args", 4),
    ("skylaunch.hooks", 4),
    ("skylaunch.tasks", 4),
    ("skylaunch.execution", 4),
    ("skylaunch.scheduler", 5),
    ("skylaunch.config", 5),
    ("skylaunch.journal", 5),
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


@pytest.mark.parametrize("name", modules())
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if name.rsplit(".", 1)[-1].startswith("_"):
        return
    assert exported is not None, f"{name} has no __all__"
    for public in exported:
        assert hasattr(module, public), f"{name}.__all__ names missing {public}"
    assert len(set(exported)) == len(exported)


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
