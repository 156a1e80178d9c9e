"""What the desk needs to know of the networks it answers on: their names, how long a reply may be,
where a post lives. Filled in by ``bot.networks`` (each network's ``Network``) when it is imported.

Why a table the networks fill rather than a parameter: the desk sits below the networks (they write
into its inbox), so it cannot import them; and these rules are read deep in the domain — a reply
refused for length, a thread line's link — where threading a collaborator through every call would
change every signature for three small functions. The composition root imports ``bot.networks``
before anything runs; so does the tests' ``conftest``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.common.errors import DomainError


@dataclass(frozen=True)
class Reach:
    label: str
    reply_limit: Callable[[str], str | None] | None = None
    """Why a reply cannot be posted there, or None if it fits."""
    post_url: Callable[[str | None, str], str | None] | None = None
    answers: bool = False
    """A card can send a reply there (the network has a reply transport)."""
    reply_check: Callable[[str, frozenset[str]], str | None] | None = None
    """A warning before replying to a post (its text, the brand's handles), e.g. X refusing a reply to
    a post that does not mention the brand; None when there is nothing to say."""


_NETWORKS: dict[str, Reach] = {}


def register(source: str, reach: Reach) -> None:
    _NETWORKS[source] = reach


def label(source: str) -> str:
    """The network's display name ("Bluesky"); a source nobody registered goes by its own name."""
    known = _NETWORKS.get(source)
    return known.label if known else source


def answers(source: str) -> bool:
    """Whether the bot can reply on a source at all (a webhook source cannot: the team answers there)."""
    known = _NETWORKS.get(source)
    return known is not None and known.answers


def reply_warning(source: str, post_text: str, brand_handles: frozenset[str]) -> str | None:
    known = _NETWORKS.get(source)
    if known is None or known.reply_check is None:
        return None
    return known.reply_check(post_text, brand_handles)


def check_reply(text: str, source: str) -> None:
    """Refuse, saying why, a reply the network would refuse (empty, or too long as it counts)."""
    if not text.strip():
        raise DomainError("Write the reply first.")
    known = _NETWORKS.get(source)
    if known is not None and known.reply_limit is not None and (why := known.reply_limit(text)):
        raise DomainError(f"Too long for {known.label}: {why}.")


def post_url(source: str, handle: str | None, post_id: str) -> str | None:
    known = _NETWORKS.get(source)
    return known.post_url(handle, post_id) if known is not None and known.post_url is not None else None
