"""The base of every settings model: ``SHOPPULSE_*`` variables, handed on and listed in help.

>>> class Example(ShopPulseSettings):
...     help_title = "example"
...     example_port: int = 8000
...     example_name: str = ""
>>> Example().to_env()
{'SHOPPULSE_EXAMPLE_PORT': '8000', 'SHOPPULSE_EXAMPLE_NAME': ''}
>>> print(env_help(Example))
settings (SHOPPULSE_* environment variables; docs/configuration.md):
  example:
    SHOPPULSE_EXAMPLE_PORT  8000
    SHOPPULSE_EXAMPLE_NAME  (empty)
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SHOPPULSE_"


class ShopPulseSettings(BaseSettings):
    """Fields read from ``SHOPPULSE_<FIELD>``; variables of other processes are ignored."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")
    #: The heading of this group's own fields in ``--help`` and ``docs/configuration.md``.
    help_title: ClassVar[str] = ""

    def to_env(self) -> dict[str, str]:
        """These settings as ``SHOPPULSE_*`` variables, to hand to a child process."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[env_name(name)] = str(value)
        return env


def env_name(field: str) -> str:
    """The environment variable of a settings field.

    >>> env_name("api_port")
    'SHOPPULSE_API_PORT'
    """
    return f"{ENV_PREFIX}{field.upper()}"


def groups(model: type[ShopPulseSettings]) -> list[tuple[str, list[str]]]:
    """``(help_title, own field names)`` of each group a model is made of, shared groups first.

    >>> from shoppulse.settings import WorkerSettings
    >>> [title for title, _ in groups(WorkerSettings)]
    ['Kafka', 'event-time windows', 'detection', 'alert rules', 'worker']
    """
    bases = [
        c
        for c in model.__mro__
        if isinstance(c, type) and issubclass(c, ShopPulseSettings) and c is not ShopPulseSettings
    ]
    composite = {c: any(b is not c and issubclass(c, b) for b in bases) for c in bases}
    bases.sort(key=composite.__getitem__)  # groups first, then processes; MRO order within
    out: list[tuple[str, list[str]]] = []
    for cls in bases:
        own = [name for name in vars(cls).get("__annotations__", {}) if name in model.model_fields]
        if own:
            out.append((cls.help_title, own))
    return out


def env_help(model: type[ShopPulseSettings]) -> str:
    """The variables a settings model reads, by group, with defaults, for ``--help``."""
    fields = model.model_fields
    width = max(len(env_name(name)) for name in fields)
    lines = ["settings (SHOPPULSE_* environment variables; docs/configuration.md):"]
    for title, names in groups(model):
        lines.append(f"  {title}:")
        for name in names:
            lines.append(f"    {env_name(name):<{width}}  {_shown(fields[name].default)}")
    return "\n".join(lines)


def _shown(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    return text if text else "(empty)"
