"""``POST/GET/DELETE /api/v1/silences``: silences kept on ``shoppulse.alert-actions``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from alerts.actions import ActionBook, ActionError, Matcher, Silence
from alerts.rules import parse_duration_ms
from api.auth import OperatorKey, acting_as, require
from api.deps import ActionBookDep, ClockDep, WriterDep, publish_action
from api.schemas import MatcherModel, SilenceIn, SilenceOut, SilencesOut
from shoppulse.timeutil import MAX_TS_MS, TimestampError, format_ts_ms, parse_ts_ms

#: Writes need an operator key (reads, a viewer key: see api.app).
OPERATOR = [Depends(require("operator"))]
router = APIRouter(prefix="/api/v1", tags=["silences"])

SilenceState = Literal["active", "pending", "expired", "all"]
SilenceId = Annotated[str, Path(min_length=1, max_length=64, description="The silence's id.")]

_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "No silence has this id."},
    503: {"description": "Kafka is unavailable or still being read: try again."},
}


def silence_out(silence: Silence, now_ms: int) -> SilenceOut:
    return SilenceOut(
        id=silence.id,
        matchers=[MatcherModel(name=m.name, value=m.value, op=m.op) for m in silence.matchers],
        starts_at=format_ts_ms(silence.starts_at_ms),
        ends_at=format_ts_ms(silence.ends_at_ms),
        created_by=silence.created_by,
        comment=silence.comment,
        updated_at=format_ts_ms(silence.updated_at_ms),
        state=silence.state(now_ms),
    )


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _instant(name: str, text: str) -> int:
    try:
        return parse_ts_ms(text)
    except TimestampError as exc:
        raise _unprocessable(f"{name}: {exc} (use RFC 3339 with an offset)") from exc


def _bounds(body: SilenceIn, now_ms: int) -> tuple[int, int]:
    """Start (default now, and never before now) and end of a new silence, or 422."""
    start = now_ms
    if body.starts_at is not None:
        start = max(now_ms, _instant("startsAt", body.starts_at))
    if (body.ends_at is None) == (body.duration is None):
        raise _unprocessable("give exactly one of endsAt and duration (e.g. duration: 2h)")
    if body.ends_at is not None:
        end = _instant("endsAt", body.ends_at)
    else:
        assert body.duration is not None
        try:
            length_ms = parse_duration_ms(body.duration)
        except ValueError as exc:
            raise _unprocessable(f"duration: {exc}") from exc
        if length_ms <= 0:
            raise _unprocessable("duration must be longer than 0")
        end = start + length_ms
    if end >= MAX_TS_MS:
        raise _unprocessable("the silence must end before 2100-01-01")
    if end <= start:
        raise _unprocessable(
            f"endsAt ({format_ts_ms(end)}) must be after the start ({format_ts_ms(start)}); "
            "a silence cannot start in the past, so it must also end in the future"
        )
    return start, end


def _find(book: ActionBook, silence_id: str) -> Silence:
    silence = book.silence(silence_id)
    if silence is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown silence {silence_id!r}")
    return silence


@router.post(
    "/silences",
    response_model=SilenceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a silence",
    responses={503: _RESPONSES[503]},
)
async def create_silence(
    body: SilenceIn, writer: WriterDep, clock: ClockDep, key: OperatorKey
) -> SilenceOut:
    """Silence the notifications of every alert all ``matchers`` match, for every receiver.

    ``startsAt`` defaults to now (a start in the past is moved to now, as Alertmanager
    does); give ``endsAt`` or a ``duration`` (``90s``, ``30m``, ``2h``), not both. At least
    one matcher must not match an empty label value, so a silence cannot mute every alert
    by accident. Alerts stay listed by ``GET /api/v1/alerts``, with ``silencedBy``. With
    API keys, ``createdBy`` is the presenting key's name.
    """
    created_by, comment = acting_as(key, body.created_by, body.comment, "createdBy")
    now = clock()
    start, end = _bounds(body, now)
    try:
        matchers = tuple(Matcher(m.name, m.value, m.op) for m in body.matchers)
        if all(m.matches({}) for m in matchers):
            raise ActionError(
                "at least one matcher must not match an empty label value "
                "(this silence would mute every alert)"
            )
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=matchers,
            starts_at_ms=start,
            ends_at_ms=end,
            created_by=created_by,
            comment=comment,
            updated_at_ms=now,
        )
    except ActionError as exc:
        raise _unprocessable(str(exc)) from exc
    await publish_action(writer, silence)
    return silence_out(silence, now)


@router.get("/silences", response_model=SilencesOut, summary="List silences")
async def list_silences(
    book: ActionBookDep,
    clock: ClockDep,
    state: Annotated[
        SilenceState | None,
        Query(description="`active`, `pending`, `expired` or `all`; default: not expired."),
    ] = None,
) -> SilencesOut:
    """Silences, newest start first: by default the active and pending ones."""
    now = clock()
    out = [silence_out(s, now) for s in book.silences()]
    if state is None:
        out = [s for s in out if s.state != "expired"]
    elif state != "all":
        out = [s for s in out if s.state == state]
    return SilencesOut(silences=out)


@router.get(
    "/silences/{silence_id}",
    response_model=SilenceOut,
    summary="Get a silence",
    responses={404: _RESPONSES[404]},
)
async def get_silence(silence_id: SilenceId, book: ActionBookDep, clock: ClockDep) -> SilenceOut:
    """One silence, with its state now."""
    return silence_out(_find(book, silence_id), clock())


@router.delete(
    "/silences/{silence_id}",
    dependencies=OPERATOR,
    response_model=SilenceOut,
    summary="Expire a silence",
    responses=_RESPONSES,
)
async def expire_silence(silence_id: SilenceId, writer: WriterDep, clock: ClockDep) -> SilenceOut:
    """Expire the silence now, as Alertmanager does: it is kept, with ``endsAt`` now (a
    pending one also starts now), and listed with ``state=expired``. Expiring an expired
    silence changes nothing."""
    now = clock()
    silence = _find(writer.book, silence_id)
    if silence.state(now) != "expired":
        silence = silence.expired_at(now)
        await publish_action(writer, silence)
    return silence_out(silence, now)
