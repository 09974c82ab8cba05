"""API keys and roles: pure parsing, hashing and checking (no FastAPI here).

Keys are random tokens (``sp_`` + 32 URL-safe random bytes) handed to people and machines;
the API only keeps their SHA-256 digests, from ``SHOPPULSE_API_KEYS``: a comma-separated list
of ``name:role:sha256:<hex digest>`` entries (``shoppulse api-key`` makes a key and prints its
entry). A high-entropy token needs no slow password hash: a digest cannot be reversed and
every guess costs an online request. Roles:

* ``viewer``: read the REST API and follow the websocket;
* ``operator``: a viewer who may also acknowledge alerts and manage silences;
* ``ingest``: may only ``POST /api/v1/events`` (a shop backend).

>>> key = new_key()
>>> keys = parse_api_keys(f"wall:viewer:{hash_key(key)}, ana:operator:{hash_key('sp_x')}")
>>> keys.identify(key).name, keys.identify("sp_x").role, keys.identify("nope")
('wall', 'operator', None)
>>> allows("operator", "viewer"), allows("viewer", "operator"), allows("ingest", "viewer")
(True, False, False)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal

Role = Literal["viewer", "operator", "ingest"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "operator", "ingest")
#: What each role may do, as the roles it includes.
_GRANTS: Final[dict[Role, frozenset[Role]]] = {
    "viewer": frozenset({"viewer"}),
    "operator": frozenset({"viewer", "operator"}),
    "ingest": frozenset({"ingest"}),
}
KEY_PREFIX: Final = "sp_"
_DIGEST_RE: Final = re.compile(r"^sha256:[0-9a-f]{64}$")
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class ApiKeysError(ValueError):
    """``SHOPPULSE_API_KEYS`` is malformed (the message never contains a digest)."""


def new_key() -> str:
    """A fresh random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key: ``sha256:<hex>``.

    >>> hash_key("sp_x")[:15]
    'sha256:a053fbca'
    """
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def allows(role: Role, needed: Role) -> bool:
    """True if a key of ``role`` may do what needs ``needed``."""
    return needed in _GRANTS[role]


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    role: Role
    digest: str

    def __repr__(self) -> str:  # never show the digest
        return f"ApiKey(name={self.name!r}, role={self.role!r})"


@dataclass(frozen=True, slots=True)
class ApiKeys:
    keys: tuple[ApiKey, ...]

    @property
    def enabled(self) -> bool:
        """Without keys the API is open (development); with any key, every route needs one."""
        return bool(self.keys)

    def identify(self, presented: str) -> ApiKey | None:
        """The key whose digest matches ``presented`` (constant-time per comparison)."""
        digest = hash_key(presented).encode()
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.digest.encode(), digest):
                found = key
        return found


def parse_api_keys(text: str) -> ApiKeys:
    """Parse ``SHOPPULSE_API_KEYS``.

    >>> parse_api_keys("")
    ApiKeys(keys=())
    >>> parse_api_keys("wall:admin:sha256:00")
    Traceback (most recent call last):
    ...
    api.security.ApiKeysError: SHOPPULSE_API_KEYS entry 1 ('wall'): role 'admin' is not one of viewer, operator, ingest
    """  # noqa: E501
    keys: list[ApiKey] = []
    names: set[str] = set()
    for i, raw in enumerate((p.strip() for p in text.split(",")), start=1):
        if not raw:
            continue
        parts = raw.split(":", 2)
        name = parts[0]
        where = f"SHOPPULSE_API_KEYS entry {i} ({name!r})"
        if len(parts) != 3:
            raise ApiKeysError(f"{where}: expected name:role:sha256:<hex>")
        _, role, digest = parts
        if not _NAME_RE.match(name):
            raise ApiKeysError(f"{where}: a name is 1-64 letters, digits or _.@-")
        if role not in ROLES:
            raise ApiKeysError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
        if not _DIGEST_RE.match(digest):
            raise ApiKeysError(
                f"{where}: the key must be given as sha256:<64 hex digits>"
                " (see `shoppulse api-key`), never as the key itself"
            )
        if name in names:
            raise ApiKeysError(f"{where}: duplicate name")
        names.add(name)
        keys.append(ApiKey(name, role, digest))
    return ApiKeys(tuple(keys))
