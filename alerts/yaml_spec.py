"""YAML configuration files validated by pydantic models, with errors that name the line.

Shared by the rules file (:mod:`alerts.rules`) and the receivers file
(:mod:`alerts.receivers`).

>>> from pydantic import BaseModel, ConfigDict
>>> class Spec(BaseModel):
...     model_config = ConfigDict(strict=True, extra="forbid")
...     port: int
>>> load_spec("port: 25", Spec, "receivers")[0].port
25
>>> load_spec("\\nport: '25'", Spec, "receivers")
Traceback (most recent call last):
...
alerts.yaml_spec.SpecError: line 2: port: Input should be a valid integer
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

from shoppulse.yaml_validation import describe_validation_error, parse_yaml_mapping

M = TypeVar("M", bound=BaseModel)


class SpecError(ValueError):
    """A file that does not parse or validate; one line per error, each with its line."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors: tuple[str, ...] = tuple(errors)


def load_spec(text: str, model: type[M], what: str) -> tuple[M, yaml.Node | None]:
    """Parse ``text`` and validate it as ``model``; also return the YAML node tree, so that
    later (semantic) checks can locate their errors with :func:`at_line`."""
    try:
        data = parse_yaml_mapping(text, what)
    except ValueError as exc:
        raise SpecError([str(exc)]) from None
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    try:
        return model.model_validate(data), root
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            one = ValidationError.from_exception_data(exc.title, [cast(InitErrorDetails, err)])
            errors.append(at_line(root, err["loc"], describe_validation_error(one)))
        raise SpecError(errors) from None


def field_path(loc: Sequence[str | int]) -> str:
    """``("rules", 0, "kpi")`` as ``rules[0].kpi``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def at_line(root: yaml.Node | None, loc: Sequence[Any], message: str) -> str:
    """``message`` prefixed with ``line N: `` for the node at ``loc``, when it is known."""
    line = node_line(root, loc)
    return message if line is None else f"line {line}: {message}"


def node_line(root: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """The 1-based YAML line of the deepest node along ``loc`` (a pydantic error location).

    A mapping entry is located at its key; a part that is not in the document (a missing
    field) leaves the line of its parent.
    """
    if root is None:
        return None
    node: yaml.Node = root
    line = root.start_mark.line + 1
    for part in loc:
        if part == "[key]":
            break
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
