"""Peer for OGC API – Features: pygeoapi's PostgreSQL provider on the same ``problems`` table.

pygeoapi (installed with ``pip install pygeoapi psycopg2-binary``; its provider uses psycopg2)
is configured with one collection, ``problems``, straight on the Lookback table (storage CRS
EPSG:4490, ``id`` as the identifier), its OpenAPI document generated with its own command, and
served by its Starlette app under uvicorn with one worker, exactly like Lookback.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from bench.env import REPO, Database, Server

CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map:
    url: http://127.0.0.1/tiles/{{z}}/{{x}}/{{y}}.png
    attribution: none
logging:
  level: ERROR
metadata:
  identification:
    title: Lookback benchmark peer
    description: pygeoapi on the Lookback problems table
    keywords: [benchmark]
    keywords_type: theme
    terms_of_service: none
    url: http://127.0.0.1:{port}
  license: {{name: none, url: http://127.0.0.1:{port}/license}}
  provider: {{name: bench, url: http://127.0.0.1:{port}}}
  contact:
    name: bench
    position: bench
    address: none
    city: none
    stateorprovince: none
    postalcode: '0'
    country: none
    phone: '0'
    fax: '0'
    email: bench@127.0.0.1
    url: http://127.0.0.1:{port}
    hours: always
    instructions: none
    role: pointOfContact
resources:
  problems:
    type: collection
    title: problems
    description: rectification problems
    keywords: [problems]
    extents:
      spatial:
        bbox: [{minx}, {miny}, {maxx}, {maxy}]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {db_host}
          port: {db_port}
          dbname: {dbname}
          user: {user}
          password: {password}
          search_path: [public]
        id_field: id
        table: problems
        geom_field: geom
        storage_crs: http://www.opengis.net/def/crs/EPSG/0/4490
        crs:
          - http://www.opengis.net/def/crs/OGC/1.3/CRS84
          - http://www.opengis.net/def/crs/EPSG/0/4490
"""


class PeerUnavailable(RuntimeError):
    """pygeoapi (or its database driver) is not installed or does not start."""


def available() -> str | None:
    """None when pygeoapi and psycopg2 import; otherwise why not."""
    for module, pip_name in (("pygeoapi", "pygeoapi"), ("psycopg2", "psycopg2-binary")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install {pip_name})"
    return None


def server(db: Database, extent: tuple[float, float, float, float]) -> Server:
    """A started pygeoapi server on the benchmark database; PeerUnavailable when it cannot be."""
    why = available()
    if why:
        raise PeerUnavailable(why)
    srv = Server("pygeoapi.starlette_app:APP", {}, db.root / "pygeoapi-server.log")
    work = db.root / "pygeoapi"
    work.mkdir(exist_ok=True)
    config = work / "pygeoapi-config.yml"
    openapi = work / "pygeoapi-openapi.yml"
    config.write_text(
        CONFIG.format(
            port=srv.port, db_host=db.cluster.socket_dir, db_port=db.cluster.port,
            dbname=db.name, user="lookback", password=db.password,
            minx=extent[0], miny=extent[1], maxx=extent[2], maxy=extent[3],
        )
    )
    cli = Path(sys.executable).with_name("pygeoapi")
    argv = [str(cli)] if cli.exists() else [sys.executable, "-m", "pygeoapi"]
    proc = subprocess.run(
        [*argv, "openapi", "generate", str(config), "--output-file", str(openapi)],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "PYGEOAPI_CONFIG": str(config)},
    )
    if proc.returncode != 0 or not openapi.exists():
        raise PeerUnavailable(f"pygeoapi openapi generate failed: {proc.stderr.strip()[-500:]}")
    srv.env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    try:
        return srv.start()
    except Exception as exc:  # noqa: BLE001 - any start failure makes the peer unavailable
        raise PeerUnavailable(f"pygeoapi did not start: {exc}") from exc
