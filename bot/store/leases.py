"""Short leases for work one worker at a time must do, and the one-worker rule on SQLite.

A lease is a row (name, holder, expiry) taken or renewed by one conditional upsert: it is granted
if free, expired, or already ours. A worker that dies stops renewing, and the next worker to ask
after the expiry takes over — no coordinator, no clock but the database's rows and our injected one.

SQLite is the single-process default: a second worker on the same file would double every source
read. The rule is kept by an OS file lock next to the database file, which the kernel releases the
moment its process dies (even by ``kill -9``), so a restart is never refused by a ghost.
"""

from __future__ import annotations

import fcntl
import os
import socket
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.store import dialect
from bot.store.models import Lease

_L = Lease.__table__


def worker_id() -> str:
    """Who holds a lease: host, process and a random part (pids are reused across restarts)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def hold(session: Session, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` until ``now + ttl``; False if another holder has it."""
    values = {"name": name, "holder": holder, "expires_at": now + ttl}
    return dialect.upsert_where(
        session, _L, values, key=["name"], where=(_L.c.holder == holder) | (_L.c.expires_at < now)
    )


def release(session: Session, name: str, holder: str) -> None:
    session.execute(_L.delete().where(_L.c.name == name, _L.c.holder == holder))


class AnotherWorker(Exception):
    """A second worker was started on a SQLite database that already has one."""


def sqlite_worker_lock(database_url: str) -> IO[str] | None:
    """Hold the one-worker lock of a SQLite file for this process's life (None for PostgreSQL).

    Raises ``AnotherWorker`` naming the process that has it.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database).with_name(Path(url.database).name + ".worker.lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise AnotherWorker(
            f"a worker is already running on {url.database} ({owner}). SQLite supports one worker process; "
            "stop the other one, run this one with --role web, or use PostgreSQL (DATABASE_URL) for several."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
    handle.flush()
    return handle
