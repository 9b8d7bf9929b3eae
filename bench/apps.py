"""ASGI factories that the benchmark serves with ``uvicorn --factory`` in subprocesses.

``lookback_app`` is :func:`server.app.create_app` on the benchmark database, with the clock fixed
to the demo's reference date (as ``lookback up`` builds and warms it, on a given URL). The ORM
peer's factory lives in :mod:`bench.peers.orm_ingest`.
"""

from __future__ import annotations

import os
from datetime import date

from fastapi import FastAPI


def lookback_app() -> FastAPI:
    from gis.config import Settings
    from gis.db.engine import make_engine
    from server.app import create_app
    from server.ops import warm_up

    url = os.environ["LOOKBACK_BENCH_URL"]
    as_of = date.fromisoformat(os.environ["LOOKBACK_BENCH_AS_OF"])
    app = create_app(engine=make_engine(url), settings=Settings(), clock=lambda: as_of)
    warm_up(app)  # as ``lookback up`` does before it serves
    return app
