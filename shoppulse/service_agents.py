"""Per-agent service components, for the article's service scorecard "also per agent".

Each chat event that names an ``agent_id`` credits that agent: the first agent
reply of a conversation (its response time, in the same buckets as the store's
first-response histogram), resolutions, escalations and ratings. Like the
store's components they are additive, so an agent's day is the sum of minutes.

>>> from shoppulse.events import ChatEvent
>>> ev = ChatEvent(event_id="e", store_id="s", ts=1_700_000_000_000, conversation_id="c",
...                customer_id="u", kind="rated", agent_id="ann", rating=5)
>>> agent_components(ev, {})
('ann', {'ratings': 1, 'ratings_positive': 1})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from shoppulse.events import ChatEvent
from shoppulse.histogram import FIRST_RESPONSE_S, component_names, from_components

_FIRST_RESPONSE: Final = component_names(FIRST_RESPONSE_S)

#: The components an agent carries, in a stable order.
AGENT_COMPONENTS: Final[tuple[str, ...]] = (
    "first_responses",
    *_FIRST_RESPONSE,
    "resolutions",
    "escalations",
    "ratings",
    "ratings_positive",
)


def agent_components(
    event: ChatEvent, memory_deltas: Mapping[str, int]
) -> tuple[str, dict[str, int]] | None:
    """The agent credited by a counted chat event and its component deltas, if any."""
    if event.agent_id is None:
        return None
    out: dict[str, int] = {}
    if _FIRST_RESPONSE[-1] in memory_deltas:  # this message was the conversation's first reply
        out["first_responses"] = 1
        out.update({k: v for k, v in memory_deltas.items() if k in _FIRST_RESPONSE})
    if event.kind == "resolved":
        out["resolutions"] = 1
    elif event.kind == "escalated":
        out["escalations"] = 1
    if event.rating is not None:
        out["ratings"] = 1
        out["ratings_positive"] = int(event.rating >= 4)
    return (event.agent_id, out) if out else None


def add_agent_counts(
    agents: dict[str, dict[str, int]], agent_id: str, deltas: Mapping[str, int]
) -> None:
    counts = agents.setdefault(agent_id, {})
    for name, value in deltas.items():
        counts[name] = counts.get(name, 0) + value


def sum_agents(
    minutes: list[Mapping[str, Mapping[str, int]]],
) -> dict[str, dict[str, int]]:
    """Roll agents up over several minutes of one store.

    >>> sum_agents([{"ann": {"ratings": 1}}, {"ann": {"ratings": 2}, "bob": {"resolutions": 1}}])
    {'ann': {'ratings': 3}, 'bob': {'resolutions': 1}}
    """
    total: dict[str, dict[str, int]] = {}
    for agents in minutes:
        for agent_id, counts in agents.items():
            add_agent_counts(total, agent_id, counts)
    return total


def agent_kpis(counts: Mapping[str, int]) -> dict[str, float | None]:
    """An agent's service KPIs, the inputs of the per-agent service scorecard.

    Resolution and escalation rates are per conversation the agent answered first.

    >>> kpis = agent_kpis({"first_responses": 4, "first_response_s_b01": 4, "resolutions": 3,
    ...                    "escalations": 1, "ratings": 2, "ratings_positive": 1})
    >>> kpis["resolution_rate"], kpis["escalation_rate"], kpis["csat_share"]
    (0.75, 0.25, 0.5)
    >>> round(kpis["first_response_p90_s"], 3)
    9.5
    """
    answered = counts.get("first_responses", 0)
    ratings = counts.get("ratings", 0)
    histogram = from_components(FIRST_RESPONSE_S, counts)
    return {
        "csat_share": counts.get("ratings_positive", 0) / ratings if ratings else None,
        "resolution_rate": counts.get("resolutions", 0) / answered if answered else None,
        "first_response_p90_s": histogram.quantile(0.9),
        "escalation_rate": counts.get("escalations", 0) / answered if answered else None,
    }
