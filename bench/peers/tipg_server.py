"""Peer for OGC API – Features: tipg (asyncpg + PostGIS, FastAPI) on the same ``problems`` table.

tipg (``pip install tipg``) publishes the table as ``public.problems`` with its own catalogue
functions; it builds each page's GeoJSON in PostGIS and pages by ``offset``. Served by
``uvicorn tipg.main:app`` with one worker, like Lookback (over loopback TCP: asyncpg).
"""

from __future__ import annotations

import importlib.util
import json

from bench.env import Database, Server

COLLECTION = "public.problems"


class PeerUnavailable(RuntimeError):
    """tipg is not installed or does not start."""


def available() -> str | None:
    """None when tipg and asyncpg import; otherwise why not."""
    for module in ("tipg", "asyncpg"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install tipg)"
    return None


def version() -> str:
    from importlib.metadata import version as installed

    return installed("tipg")


def server(db: Database) -> Server:
    """A started tipg server on the benchmark database; PeerUnavailable when it cannot be."""
    why = available()
    if why:
        raise PeerUnavailable(why)
    env = {
        "DATABASE_URL": db.tcp_url.replace("postgresql+psycopg://", "postgresql://"),
        "TIPG_DB_SCHEMAS": json.dumps(["public"]),
        "TIPG_DB_TABLES": json.dumps([COLLECTION]),
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    srv = Server("tipg.main:app", env, db.root / "tipg-server.log")
    try:
        return srv.start()
    except Exception as exc:  # noqa: BLE001 - any start failure makes the peer unavailable
        raise PeerUnavailable(f"tipg did not start: {exc}") from exc
