"""Peer for ingest: the plain FastAPI + SQLAlchemy ORM endpoint one writes in an afternoon.

One POST, one pydantic model, one ORM object added and committed per request, the new id
returned. It has none of Lookback's work per request: no authentication, no township assignment,
no rebound check, no read-back of derived fields, no event. Its table mirrors ``complaints``
(same column types, a GiST index on the point) so the database does comparable work per row.
Served by ``uvicorn bench.peers.orm_ingest:create_app --factory`` on ``LOOKBACK_BENCH_URL``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI
from geoalchemy2 import Geometry
from pydantic import BaseModel
from sqlalchemy import DateTime, String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

TABLE = "bench_peer_complaints"


class Base(DeclarativeBase):
    pass


class PeerComplaint(Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4490, spatial_index=True))


class ComplaintIn(BaseModel):
    code: str
    channel: str
    kind: str
    received_at: datetime
    text: str = ""
    category: str | None = None
    geometry: dict[str, Any]


def create_app() -> FastAPI:
    engine = create_engine(os.environ["LOOKBACK_BENCH_URL"], pool_size=10, max_overflow=10)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine)
    app = FastAPI(title="ORM peer")

    def session() -> Any:
        with sessions() as s:
            yield s

    @app.post("/complaints", status_code=201)
    def create(body: ComplaintIn, s: Session = Depends(session)) -> dict:  # noqa: B008
        lon, lat = body.geometry["coordinates"][:2]
        row = PeerComplaint(
            code=body.code,
            channel=body.channel,
            kind=body.kind,
            category=body.category,
            text=body.text,
            received_at=body.received_at,
            geom=f"SRID=4490;POINT({float(lon)} {float(lat)})",
        )
        s.add(row)
        s.commit()
        return {"id": row.id, "code": row.code}

    return app
