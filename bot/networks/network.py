"""What the rest of the bot may know of one network: a ``Network``, declared in its own package.

Each network's package (``bot/networks/x``, ``bluesky``, ``mastodon``, ``webhook``, ``replay``)
ends in one ``NETWORK = Network(...)``, and ``bot.networks`` lists them. Everything outside
``bot/networks`` asks the registry — which sources to read, which transports answer customers,
how long a reply may be, what ``check`` says — instead of importing a network, so adding one is a
new package and one line in the registry (``docs/development.md``, "Add a network").

Each network reads its own section of the environment (``bot/networks/<name>/settings.py``, a frozen
dataclass with a ``read`` class method); ``bot.config`` keeps them in ``Settings.networks`` by name.
The callables below get the whole ``Settings`` (typed ``Any``: ``bot.config`` sits above this
package, so it cannot be imported back) and take their own section with ``settings.network(name)``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # for types only: a descriptor loads none of its network's code (see ``lazy``)
    from datetime import datetime

    from bot.common.clock import Clock
    from bot.common.health import CheckResult
    from bot.common.settings_reader import Reader
    from bot.common.tasks import Task
    from bot.intake.source import SourceContext
    from bot.outbox.transport import DeliveryTransport


def lazy(target: str) -> Callable[..., Any]:
    """``"package.module:function"``, imported on its first call.

    Why: a descriptor is read for a card's label or a link's host, and importing every SDK for that
    costs a second of start-up (atproto alone 0.8 s) for every command; and one network's SDK missing
    or broken must not stop another network, or a command that needs none.
    """
    module, _, name = target.partition(":")
    loaded: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not loaded:
            loaded.append(getattr(importlib.import_module(module), name))
        return loaded[0](*args, **kwargs)

    call.__qualname__ = call.__name__ = name
    return call


def _never(_settings: Any) -> bool:
    return False


def _nobody(_settings: Any) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class Need:
    """What a network's settings reader is told about this deployment."""

    chosen: bool = False
    """``SOURCES`` names it."""
    reads: bool = False
    """This process reads it (a worker, and it is chosen or — for the default network — nothing else
    is set up): its read settings are then required, not only checked."""
    reserved: frozenset[str] = frozenset()
    """Every network's name (a webhook source may not take one)."""


class SettingsSection(Protocol):
    """A network's settings: a frozen dataclass whose defaults mean "not set up"."""

    @classmethod
    def read(cls, r: Reader, need: Need) -> SettingsSection: ...


@dataclass(frozen=True)
class Sources:
    """The loops that read a network, and the brand's account ids learnt while building them (X looks
    its own id up from the handle)."""

    tasks: list[Task] = field(default_factory=list)
    brand_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Command:
    """A command-line group a network brings (``followthrough webhook sign``)."""

    name: str
    add_parser: Callable[[Any], None]
    main: Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Network:
    name: str
    """The source name stored with every post (``x``, ``bluesky`` …)."""
    label: str
    """How a card names it ("X", "Bluesky")."""
    emoji: str
    """A standard Slack emoji shown beside the label."""
    settings: type[SettingsSection] | None = None
    """Its section of the settings (a dataclass with ``read``); None: it has none."""
    requires: tuple[str, ...] = ()
    """The variables that set it up; with no ``SOURCES``, every network whose variables are all set is
    read, and one named in ``SOURCES`` without them is a start-up problem."""
    set_up_in: Callable[[Mapping[str, str]], bool] | None = None
    """Whether an environment sets it up, where ``requires`` cannot say (a webhook has a secret per source)."""
    selectable: bool = True
    """``SOURCES`` may name it (the replay file is chosen with ``--replay`` instead)."""
    read_when_bare: bool = False
    """Read (so its settings required) when nothing else is set up: X, the first network the bot had."""
    link_hosts: tuple[str, ...] = ()
    """Hosts a post's link may point to (subdomains included); settings may add more at start-up."""
    settings_hosts: Callable[[Any], dict[str, tuple[str, ...]]] | None = None
    """Link hosts only the settings know (the brand's Mastodon instance, a webhook source's hosts)."""
    configured: Callable[[Any], bool] = _never
    """Its read settings are set: with no ``SOURCES``, every configured network is read."""
    sources: Callable[[Any, SourceContext], Sources] | None = None
    """Its reading loops (each run under a lease by one worker)."""
    transport: Callable[[Any, Clock], DeliveryTransport | None] | None = None
    """What sends the team's replies there; None when its write credentials are not set."""
    can_reply: Callable[[Any], bool] = _never
    """A card can answer on it (its write credentials are set)."""
    reply_limit: Callable[[str], str | None] | None = None
    """Why a reply cannot be posted there (too long, as the network counts), or None if it fits."""
    reply_check: Callable[[str, frozenset[str]], str | None] | None = None
    """A warning shown in the Reply form before replying to a post (its text, the brand's handles
    in lower case), or None; the agent may send anyway."""
    post_url: Callable[[str | None, str], str | None] | None = None
    """A post's address from its author's handle and id, where the network has a fixed form."""
    own_handles: Callable[[Any], frozenset[str]] = _nobody
    """The brand's own handles there (lower case): its posts are replies, not complaints."""
    reply_author: Callable[[Any], tuple[str | None, str | None]] | None = None
    """(handle, account id) the brand's replies sent from a card are recorded under."""
    checks: tuple[Callable[[Any], CheckResult], ...] = ()
    """What ``followthrough check`` asks of it, one line each."""
    usage: Callable[[Any, datetime], str | None] | None = None
    """This month's paid API use and its cost, in words (a session, now), or None when nothing was
    used: the weekly report shows it, so the team sees the bill coming."""
    commands: tuple[Command, ...] = ()
    demo_settings: Callable[[], Any] | None = None
    """``followthrough demo``: its section for the demo (the sample replay's brand account)."""
    demo: Callable[[SourceContext], int] | None = None
    """``followthrough demo``: read a sample post from its local stand-in; returns posts read."""
