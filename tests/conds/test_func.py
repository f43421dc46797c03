"""FuncCond: Rocketry's syntax= and decorator forms."""

from __future__ import annotations

import pytest

from skylaunch.conds import FuncCond, condition
from skylaunch.testing import is_due, simulated_app


def test_funccond_syntax_names_it_and_decorates() -> None:
    @FuncCond(syntax="is foo")
    def is_foo() -> bool:
        return True

    assert isinstance(is_foo, FuncCond)
    assert str(is_foo) == "is foo"
    assert FuncCond(is_foo.func, syntax=["is bar", "is baz"]) == condition(is_foo.func, "is bar")
    app = simulated_app()
    app.task(is_foo, name="t")(lambda: None)
    assert is_due(app, "t")


def test_funccond_refuses_what_it_cannot_use() -> None:
    with pytest.raises(TypeError, match="decorates one function"):
        FuncCond(syntax="is foo")(1, 2)
    with pytest.raises(TypeError, match="takes a name"):
        FuncCond(lambda: True, syntax="")
    with pytest.raises(TypeError, match="needs a callable"):
        FuncCond(42)  # type: ignore[arg-type]


def test_func_cond_decorator_may_give_back_the_function_as_rocketry() -> None:
    def is_ready() -> bool:
        return True

    as_cond = FuncCond(decor_return_func=False)(is_ready)
    assert isinstance(as_cond, FuncCond)
    assert as_cond == FuncCond(is_ready, "is_ready")
    assert FuncCond(decor_return_func=True)(is_ready) is is_ready
