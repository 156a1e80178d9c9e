"""The networks, in one place: every question the rest of the bot asks of them is answered here.

``NETWORKS`` lists each package's ``Network`` (``bot/networks/<name>/__init__.py``); adding a network
is a new package and one line there. Nothing outside ``bot/networks`` imports a network's package or
its SDK (an import-linter contract in ``pyproject.toml`` holds that): it asks these functions.
Descriptors are light — a network's SDK is imported the first time its sources, transport or
checks are built — so reading a card's label never loads atproto.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.common.settings_reader import Fields, Reader
from bot.common.tasks import Task
from bot.desk import reach
from bot.networks import bluesky, links, mastodon, replay, webhook, x
from bot.networks.network import Need, Network, Sources

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.common.clock import Clock
    from bot.common.health import CheckResult
    from bot.intake.source import Source, SourceContext
    from bot.outbox.transport import DeliveryTransport

log = logging.getLogger(__name__)

NETWORKS: tuple[Network, ...] = (x.NETWORK, bluesky.NETWORK, mastodon.NETWORK, webhook.NETWORK, replay.NETWORK)
BY_NAME: dict[str, Network] = {n.name: n for n in NETWORKS}
DEFAULT_ICON = ":globe_with_meridians:"
UNNAMED = x.NETWORK.name
"""The network of rows stored before they named theirs: X's, the only network there was then."""

for _network in NETWORKS:
    links.set_hosts(_network.name, _network.link_hosts)
    reach.register(
        _network.name,
        reach.Reach(
            _network.label,
            _network.reply_limit,
            _network.post_url,
            answers=_network.transport is not None,
            reply_check=_network.reply_check,
        ),
    )
del _network


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool((env.get(name) or "").strip())


def set_up(env: Mapping[str, str]) -> tuple[str, ...]:
    """The networks an environment sets up (every variable of ``requires`` set, or ``set_up_in``)."""
    return tuple(
        n.name
        for n in NETWORKS
        if (n.set_up_in(env) if n.set_up_in is not None else bool(n.requires) and all(_set(env, v) for v in n.requires))
    )


def chosen_sources(env: Mapping[str, str]) -> tuple[str, ...] | None:
    """``SOURCES`` as given (lowercased, in order, no repeats), or None when it is not set."""
    raw = (env.get("SOURCES") or "").strip()
    if not raw:
        return None
    out: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if part and part not in out:
            out.append(part)
    return tuple(out)


def _reads(env: Mapping[str, str], network: Network, *, replay: bool) -> bool:
    """Whether a deployment reads a network: named in ``SOURCES``, or — without ``SOURCES`` — the
    default network when nothing else (no replay file, no other network) is set up, which keeps the
    old behaviour of asking for ``X_BEARER_TOKEN`` on a bare configuration."""
    chosen = chosen_sources(env)
    if chosen is not None:
        return network.name in chosen
    return network.read_when_bare and not replay and not [n for n in set_up(env) if n != network.name]


def default_settings() -> dict[str, Any]:
    """Every network's section with nothing set up (``Settings()`` in tests and tools)."""
    return {n.name: n.settings() for n in NETWORKS if n.settings is not None}


def settings_with(**sections: Any) -> dict[str, Any]:
    """Every network's section, with the ones given set up (tests, tools): ``settings_with(x=XSettings(…))``."""
    return {**default_settings(), **sections}


def demo_settings() -> dict[str, Any]:
    """Every network's section for ``followthrough demo``."""
    return {**default_settings(), **{n.name: n.demo_settings() for n in NETWORKS if n.demo_settings is not None}}


def read_settings(r: Reader, *, works: bool, replay: bool) -> Fields:
    """``SOURCES`` and every network's section, their problems added to ``r``'s one list.

    ``works``: this process runs the worker (reads networks); ``replay``: posts come from a file.
    """
    env = r.env
    chosen = chosen_sources(env)
    reserved = frozenset(n.name for n in NETWORKS if n is not webhook.NETWORK)
    sections: dict[str, Any] = {}
    for network in NETWORKS:
        if network.settings is not None:
            need = Need(
                chosen=chosen is not None and network.name in chosen,
                reads=works and _reads(env, network, replay=replay),
                reserved=reserved,
            )
            sections[network.name] = network.settings.read(r, need)
    values: Fields = {"networks": sections}
    if chosen is not None:
        known = [n.name for n in NETWORKS if n.selectable]
        unknown = [s for s in chosen if s not in known]
        if unknown:
            shown = ", ".join(repr(u[:32]) for u in unknown)
            r.problems.append(f"SOURCES names {shown}; it may list {', '.join(known)} (separated by commas)")
        for name in chosen:
            missing = [v for v in BY_NAME[name].requires if not _set(env, v)] if name in known else []
            if missing:
                r.problems.append(f"SOURCES includes {name}, but {' and '.join(missing)} is not set")
        values["sources"] = tuple(s for s in chosen if s in known)
    return values


def label(source: str) -> tuple[str, str]:
    """(display name, emoji) of a source; the name is outside text for unknown sources — escape it."""
    known = BY_NAME.get(source)
    if known is not None:
        return known.label, known.emoji
    return webhook.KNOWN_SOURCES.get(source, (source, DEFAULT_ICON))


def selected(settings: Any) -> tuple[str, ...]:
    """``SOURCES`` as given, else every configured network."""
    if settings.sources:
        return tuple(settings.sources)
    return tuple(n.name for n in NETWORKS if n.configured(settings))


def register_link_hosts(settings: Any) -> None:
    """Hosts a card may link a post to that only the settings know: the brand's Mastodon instance, each
    webhook source's ``WEBHOOK_LINK_HOSTS_<SOURCE>``. Starts again from the networks' own hosts, so
    a host allowed by an earlier configuration (in the same process) is not allowed still."""
    links.LINK_HOSTS.clear()
    for network in NETWORKS:
        links.set_hosts(network.name, network.link_hosts)
    for network in NETWORKS:
        if network.settings_hosts is not None:
            for source, hosts in network.settings_hosts(settings).items():
                for host in hosts:
                    links.register_host(source, host)


def sources(settings: Any, ctx: SourceContext) -> Sources:
    """The loops that read every selected network, and the brand ids learnt building them."""
    chosen = selected(settings)
    tasks: list[Task] = []
    brand_ids: set[str] = set()
    for network in NETWORKS:
        if network.name in chosen and network.sources is not None:
            built = network.sources(settings, ctx)
            tasks.extend(built.tasks)
            brand_ids |= built.brand_ids
    return Sources(tasks, frozenset(brand_ids))


def replay_source(ctx: SourceContext, path: Path) -> Source:
    """A replay file's reader (``run --replay``, the demo)."""
    from bot.networks.replay.source import ReplaySource  # the replay network's code, loaded when used

    return ReplaySource(ctx, path)


def transports(settings: Any, clock: Clock) -> list[DeliveryTransport]:
    """What sends the team's replies, for each network whose write credentials are set."""
    # Asked only of networks that can reply: a transport's module imports its SDK (atproto alone
    # took 1.7 s of every start, Bluesky set up or not).
    found = [n.transport(settings, clock) for n in NETWORKS if n.transport is not None and n.can_reply(settings)]
    return [t for t in found if t is not None]


def reply_sources(settings: Any) -> frozenset[str]:
    """The networks a card can answer on."""
    return frozenset(n.name for n in NETWORKS if n.can_reply(settings))


def own_handles(settings: Any) -> frozenset[str]:
    """The brand's handles on every network (lower case): its posts are replies, not complaints."""
    return frozenset().union(*(n.own_handles(settings) for n in NETWORKS))


def reply_authors(settings: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(handles, ids) by network, that the brand's replies sent from a card are recorded under."""
    handles: dict[str, str] = {}
    ids: dict[str, str] = {}
    for network in NETWORKS:
        if network.reply_author is None:
            continue
        handle, account = network.reply_author(settings)
        if handle:
            handles[network.name] = handle
        if account:
            ids[network.name] = account
    return handles, ids


def usage_lines(session: Session, at: Any) -> list[str]:
    """This month's paid API use, one line per network that used any (X bills per read and post)."""
    found = [n.usage(session, at) for n in NETWORKS if n.usage is not None]
    return [line for line in found if line]


def checks() -> tuple[Callable[[Any], CheckResult], ...]:
    return tuple(check for n in NETWORKS for check in n.checks)


def commands() -> list[tuple[str, Callable[[Any], None], Callable[[argparse.Namespace], int]]]:
    return [(c.name, c.add_parser, c.main) for n in NETWORKS for c in n.commands]


def ingest_sources(settings: Any) -> tuple[str, ...]:
    """The webhook sources the HTTP server accepts (none unless ``webhook`` is selected)."""
    if webhook.NETWORK.name not in selected(settings):
        return ()
    return tuple(name for name, _ in webhook.settings.of(settings).secrets)


def ingest_endpoint(sessions: sessionmaker[Session], clock: Clock, settings: Any) -> Any:
    """The WSGI callable for ``/ingest/<source>`` (a ``WebhookIngest``)."""
    from bot.networks.webhook.wiring import endpoint  # the webhook's code, loaded by the web process only

    return endpoint(sessions, clock, settings)


def demo_samples(ctx: SourceContext) -> int:
    """``followthrough demo``: one sample post from each network's local stand-in; posts read."""
    return sum(n.demo(ctx) for n in NETWORKS if n.demo is not None)


def read_replays(ctx: SourceContext, paths: Sequence[Path]) -> list[Task]:
    """One loop per replay file."""
    tasks = []
    for path in paths:
        source = replay_source(ctx, path)
        tasks.append(Task(source.name, source.step, stop=getattr(source, "close", None)))
    return tasks
