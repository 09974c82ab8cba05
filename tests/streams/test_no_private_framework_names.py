"""Only ``streams/faust_internals.py`` touches private names of Faust, aiokafka or mode (ADR 21).

Every other module of ``streams/`` is parsed with :mod:`ast`. An attribute whose name starts
with ``_`` (dunders aside) may be read or set only on ``self``/``cls`` inside a class of ours,
and only when the name is our own: defined in the class or in one of our own base classes, and
defined or set by none of the framework classes the class derives from (these include the
door's classes, which hold the overrides of Faust's private hooks). A method or class attribute
of ours with such a private name would override a framework internal and fails as well.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import streams

STREAMS_DIR = Path(streams.__file__).parent
DOOR = "faust_internals"
_SELF_ATTRIBUTE = re.compile(r"\bself\.(_[A-Za-z]\w*)")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(klass: type) -> bool:
    """A class of ours (the door's classes stand for the framework: their names are its)."""
    module = klass.__module__
    return module.startswith("streams.") and module != f"streams.{DOOR}"


@cache
def _framework_names(klass: type) -> frozenset[str]:
    """The private names a framework class defines, or sets on ``self`` in its source."""
    names = {name for name in vars(klass) if _private(name)}
    with contextlib.suppress(OSError, TypeError):  # a builtin or C class: vars() has all
        names |= set(_SELF_ATTRIBUTE.findall(inspect.getsource(klass)))
    return frozenset(names)


@cache
def _own_names(klass: type) -> frozenset[str]:
    """The private names a class of ours defines, or sets on ``self`` in its source."""
    names = {name for name in vars(klass) if _private(name)}
    names |= set(_SELF_ATTRIBUTE.findall(inspect.getsource(klass)))
    return frozenset(names)


def _defined_in_class(node: ast.ClassDef) -> set[str]:
    """Private names a class statement defines: methods, class attributes, ``self.x = ...``."""
    names: set[str] = set()
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    for sub in ast.walk(node):
        targets: list[ast.expr] = []
        if isinstance(sub, ast.Assign):
            targets = sub.targets
        elif isinstance(sub, ast.AnnAssign | ast.AugAssign):
            targets = [sub.target]
        names.update(
            t.attr
            for t in targets
            if isinstance(t, ast.Attribute)
            and isinstance(t.value, ast.Name)
            and t.value.id in ("self", "cls")
        )
    return {name for name in names if _private(name)}


@dataclass(frozen=True)
class _Class:
    """What a class statement may use as private names, and what belongs to the framework."""

    node: ast.ClassDef
    own: frozenset[str]
    framework: frozenset[str]


def _resolve(node: ast.ClassDef, module: ModuleType) -> _Class:
    own = set(_defined_in_class(node))
    framework: set[str] = set()
    for base_expr in node.bases:
        base: Any = eval(ast.unparse(base_expr), vars(module))  # names of the module
        mro: tuple[type, ...] = getattr(base, "__mro__", (type(base),))
        for klass in mro:
            if klass is object:
                continue
            if _ours(klass):
                own |= _own_names(klass)
            else:
                framework |= _framework_names(klass)
    return _Class(node, frozenset(own - framework), frozenset(framework))


class _Checker(ast.NodeVisitor):
    def __init__(self, module: ModuleType, path: str) -> None:
        self.module = module
        self.path = path
        self.classes: list[_Class | None] = [None]  # the class whose methods we are in
        self.problems: list[str] = []

    def _problem(self, node: ast.AST, text: str) -> None:
        self.problems.append(f"{self.path}:{getattr(node, 'lineno', '?')}: {text}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        resolved = _resolve(node, self.module)
        for statement in node.body:
            name = getattr(statement, "name", None)
            if name is not None and _private(name) and name in resolved.framework:
                self._problem(statement, f"{node.name}.{name} overrides a framework internal")
        self.classes.append(resolved)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr):
            current = self.classes[-1]
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not on_self or current is None:
                self._problem(node, f"private name {ast.unparse(node)!r} on another object")
            elif node.attr in current.framework or node.attr not in current.own:
                self._problem(
                    node, f"{current.node.name} uses {node.attr!r}, not a name of its own"
                )
        self.generic_visit(node)


def private_framework_uses(source: str, module: ModuleType, path: str) -> list[str]:
    """Every use of a private name outside our own classes' own names, as ``path:line: ...``."""
    checker = _Checker(module, path)
    checker.visit(ast.parse(source))
    return checker.problems


def _modules() -> list[str]:
    return sorted(p.stem for p in STREAMS_DIR.glob("*.py") if p.stem not in (DOOR, "__init__"))


@pytest.mark.parametrize("name", _modules())
def test_only_the_door_uses_private_framework_names(name: str) -> None:
    module = importlib.import_module(f"streams.{name}")
    path = STREAMS_DIR / f"{name}.py"
    problems = private_framework_uses(path.read_text(), module, f"streams/{path.name}")
    assert not problems, (
        "private names of Faust/aiokafka/mode belong in streams/faust_internals.py "
        "(ADR 21):\n" + "\n".join(problems)
    )


_SAMPLE = """
import asyncio
from faust.transport.drivers import aiokafka as faust_aiokafka


class Mine:
    def __init__(self) -> None:
        self._mine = 1

    def _helper(self) -> int:
        return self._mine


class Sub(faust_aiokafka.Consumer):
    def __init__(self) -> None:
        self._ours = {}

    async def _commit(self, offsets):
        return await super()._commit(offsets)

    def uses(self, store, fetcher):
        self._ours.clear()
        self._n_acked = 0
        return self._read_offset, fetcher._stopped, store._db_for_partition(0), asyncio._x
"""


def test_the_check_finds_each_kind_of_use() -> None:
    """The check itself: what it flags, and what it lets pass."""
    module = ModuleType("streams.sample")
    exec(compile(_SAMPLE, "sample.py", "exec"), vars(module))
    problems = private_framework_uses(_SAMPLE, module, "sample.py")
    found = "\n".join(problems)
    assert "Sub._commit overrides a framework internal" in found
    assert "'super()._commit' on another object" in found
    assert "Sub uses '_n_acked'" in found
    assert "Sub uses '_read_offset'" in found
    assert "'fetcher._stopped' on another object" in found
    assert "'store._db_for_partition' on another object" in found
    assert "'asyncio._x' on another object" in found
    assert "_mine" not in found
    assert "_helper" not in found
    assert "_ours" not in found
    assert len(problems) == 7, found
