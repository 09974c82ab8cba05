"""Deprecated alias of :mod:`shoppulse.service_agents` (chat-service agents, not Faust agents).

Kept only for ``api/view.py``, which is being split concurrently; once it imports
``shoppulse.service_agents``, delete this module.
"""

from __future__ import annotations

from shoppulse.service_agents import sum_agents

__all__ = ["sum_agents"]
