"""Contracts of the framework internals in ``streams/faust_internals.py`` (ADR 21).

Each internal of :data:`streams.faust_internals.INTERNALS` is checked against the installed
faust-streaming, aiokafka and mode-streaming: it still exists where we say, it is a method or
an attribute as we use it, a method takes the parameters we pass (or override it with) and is
awaitable when we await it. A failure names the internal, the accessor or hook of ours that
stands for it, and the versions the door was written against. No broker is needed: the
consumer and the RocksDB store are only built, not started.
"""

from __future__ import annotations

import ast
import collections.abc
import importlib
import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer
from faust.stores.rocksdb import Store as RocksStore
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams import faust_internals
from streams.faust_internals import HOOKS, INTERNALS, WRITTEN_AGAINST, HookedConsumer, Internal
from streams.tables import write_local

ADR = "docs/adr/0021-framework-internals-behind-one-door.md"


def _versions() -> str:
    written = ", ".join(f"{name} {v}" for name, v in WRITTEN_AGAINST.items())
    installed = ", ".join(f"{name} {version(name)}" for name in WRITTEN_AGAINST)
    return f"written against {written}; installed {installed}"


def _broken(internal: Internal, text: str) -> str:
    return (
        f"{internal.owner}.{internal.name} (streams.faust_internals.{internal.used_by}): {text} "
        f"[{_versions()}; see {ADR}]"
    )


def _owner(internal: Internal) -> type:
    module_name, _, class_name = internal.owner.partition(":")
    try:
        owner: type = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(_broken(internal, f"the owner class is gone ({exc})"))
    return owner


@pytest.fixture(scope="module")
def framework(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A Faust consumer and a RocksDB store, built (not started) as the worker builds them."""
    datadir = tmp_path_factory.mktemp("faust-internals")
    app = faust.App(
        "faust-internals-contract",
        broker="kafka://localhost:1",
        store="rocksdb://",
        datadir=str(datadir),
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    table: Any = app.Table("contract", key_type=str, value_type=bytes, partitions=2)
    table.value_serializer = "raw"
    return {"app": app, "consumer": app.consumer, "table": table, "store": table.data}


def _instance(internal: Internal, framework: dict[str, Any]) -> Any:
    in_store = internal.owner.startswith("faust.stores")
    return framework["store"] if in_store else framework["consumer"]


METHODS = [i for i in INTERNALS if i.kind != "attribute"]
ATTRIBUTES = [i for i in INTERNALS if i.kind == "attribute"]


def _id(internal: Internal) -> str:
    return f"{internal.owner.rpartition(':')[2]}.{internal.name}"


@pytest.mark.parametrize("internal", METHODS, ids=_id)
def test_a_private_method_is_there_as_we_call_or_override_it(internal: Internal) -> None:
    owner = _owner(internal)
    if internal.name not in vars(owner):
        pytest.fail(_broken(internal, "the method is no longer defined by this class"))
    method = getattr(owner, internal.name)
    assert callable(method), _broken(internal, f"not a method any more: {method!r}")
    params = tuple(inspect.signature(method).parameters)
    assert params == internal.params, _broken(
        internal, f"its parameters are now {params}, we expect {internal.params}"
    )
    assert inspect.iscoroutinefunction(method) == internal.coroutine, _broken(
        internal,
        "it is now a coroutine function" if not internal.coroutine else "it is not async any more",
    )


@pytest.mark.parametrize("internal", [i for i in METHODS if i.kind == "override"], ids=_id)
def test_an_override_replaces_the_method_that_super_reaches(internal: Internal) -> None:
    """Our hook has Faust's signature, and ``super()`` from it lands in the owner we name."""
    owner = _owner(internal)
    ours = tuple(inspect.signature(getattr(HookedConsumer, internal.name)).parameters)
    assert ours == internal.params, _broken(internal, f"our override takes {ours}")
    above = next(k for k in HookedConsumer.__mro__[1:] if internal.name in vars(k))
    assert above is owner, _broken(
        internal,
        f"super().{internal.name} now reaches {above.__module__}:{above.__qualname__}",
    )


@pytest.mark.parametrize("internal", ATTRIBUTES, ids=_id)
def test_a_private_attribute_is_there_as_we_use_it(
    internal: Internal, framework: dict[str, Any]
) -> None:
    owner = _owner(internal)
    instance = _instance(internal, framework)
    assert isinstance(instance, owner), _broken(internal, f"{type(instance)} is not an {owner}")
    if not hasattr(instance, internal.name):
        pytest.fail(_broken(internal, "a new instance has no such attribute"))
    value = getattr(instance, internal.name)
    expected = _ATTRIBUTE_CHECKS[internal.name]
    problem = expected(value)
    assert problem is None, _broken(internal, problem or "")


def _stopped(value: Any) -> str | None:
    if callable(getattr(value, "is_set", None)):
        return None
    return f"no is_set() on {value!r}"


def _buffered(value: Any) -> str | None:
    return None if isinstance(value, collections.abc.Set) else f"not a set: {value!r}"


def _read_offset(value: Any) -> str | None:
    if not isinstance(value, collections.abc.MutableMapping):
        return f"not a mutable mapping: {value!r}"
    if value[TP("never-read", 0)] is not None:  # an unread partition reads as None
        return "an unread partition's read offset is not None"
    value.pop(TP("never-read", 0))
    return None


def _commit_every(value: Any) -> str | None:
    return None if value is None or isinstance(value, int) else f"not an int: {value!r}"


def _n_acked(value: Any) -> str | None:
    return None if isinstance(value, int) else f"not an int: {value!r}"


def _thread(value: Any) -> str | None:
    if not isinstance(value, faust_aiokafka.AIOKafkaConsumerThread):
        return f"not an AIOKafkaConsumerThread: {value!r}"
    return None


def _key_index(value: Any) -> str | None:
    if callable(getattr(value, "__setitem__", None)) and callable(getattr(value, "get", None)):
        return None
    return f"not a mapping we can set: {value!r}"


_ATTRIBUTE_CHECKS = {
    "_stopped": _stopped,
    "_buffered_partitions": _buffered,
    "_read_offset": _read_offset,
    "_commit_every": _commit_every,
    "_n_acked": _n_acked,
    "_thread": _thread,
    "_key_index": _key_index,
}


def test_every_attribute_has_a_check() -> None:
    assert {i.name for i in ATTRIBUTES} == set(_ATTRIBUTE_CHECKS)


def test_the_list_names_every_private_name_the_door_uses() -> None:
    """:data:`INTERNALS` is complete: each private name in the module is in it, and each
    entry's hook or accessor exists."""
    tree = ast.parse(Path(faust_internals.__file__).read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_")
    }
    used |= {
        node.name
        for klass in ast.walk(tree)
        if isinstance(klass, ast.ClassDef)
        for node in klass.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("_")
    }
    used = {name for name in used if not name.startswith("__")}
    listed = {i.name for i in INTERNALS}
    assert used == listed, f"used but not listed: {used - listed}; listed, unused: {listed - used}"
    for internal in INTERNALS:
        for accessor in internal.used_by.split(", "):
            target: Any = faust_internals
            for part in accessor.split("."):
                target = getattr(target, part)
            assert callable(target), accessor


def test_our_hooks_do_not_shadow_names_of_fausts_consumer() -> None:
    """The public hooks HookedConsumer adds are not names Faust's consumer (now) has."""
    for name in HOOKS:
        assert hasattr(HookedConsumer, name), name
        assert not hasattr(faust_aiokafka.Consumer, name), (
            f"faust_aiokafka.Consumer now has {name!r}, a hook of "
            f"streams.faust_internals.HookedConsumer [{_versions()}; see {ADR}]"
        )


def test_the_public_calls_we_make_through_internals_are_there() -> None:
    """What we call on the objects the internals give us: the consumer thread's
    ``call_thread``, aiokafka's ``seek`` and ``committed``, the transport's ``Consumer``."""
    call_thread = inspect.signature(faust_aiokafka.AIOKafkaConsumerThread.call_thread)
    assert tuple(call_thread.parameters) == ("self", "fun", "args", "kwargs"), _versions()
    assert tuple(inspect.signature(AIOKafkaConsumer.seek).parameters) == (
        "self",
        "partition",
        "offset",
    ), _versions()
    assert tuple(inspect.signature(AIOKafkaConsumer.committed).parameters) == (
        "self",
        "partition",
    ), _versions()
    assert faust_aiokafka.Transport.Consumer is faust_aiokafka.Consumer, _versions()


def test_a_hooked_consumer_is_what_the_app_builds(framework: dict[str, Any]) -> None:
    """``install_consumer_class`` makes the transport build our consumer class."""
    app = faust.App("faust-internals-install", broker="kafka://localhost:1", web_enabled=False)

    class Mine(HookedConsumer):
        """A consumer class of ours, as the worker's ``BoundedCommitConsumer`` is."""

    faust_internals.install_consumer_class(app, Mine)
    assert type(app.consumer) is Mine


def test_an_entry_written_to_a_partition_database_is_read_back(
    framework: dict[str, Any],
) -> None:
    """``index_key`` and ``partition_db`` write an entry the RocksDB store reads as its own."""
    table, store = framework["table"], framework["store"]
    assert isinstance(store, RocksStore)
    write_local(table, 1, "some-key", b"some-value")
    assert store["some-key"] == b"some-value"
    assert "some-key" in store
