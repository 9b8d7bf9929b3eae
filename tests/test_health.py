"""/healthz with the database up, down, and back again (the app recovers without a restart)."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from gis.config import Settings
from gis.db.embedded import Cluster, free_port
from gis.db.engine import make_engine, upgrade
from server.app import create_app
from tests.conftest import new_cluster_root
from tests.factories import make_token


def test_healthz_up_down_and_recovered() -> None:
    root = new_cluster_root("lookback-health-")
    cluster = Cluster(root, free_port())
    try:
        cluster.start()
        upgrade(cluster.url())
        engine = make_engine(cluster.url())
        client = TestClient(create_app(engine=engine, settings=Settings()),
                            headers=make_token(engine, "viewer"))
        ok = client.get("/healthz")
        assert ok.status_code == 200
        assert ok.json() == {"status": "ok", "db": "ok"}
        assert client.get("/api/townships.geojson").status_code == 200

        cluster.kill()
        down = client.get("/healthz")
        assert down.status_code == 503
        assert down.json()["db"] == "down" and down.json()["reason"]
        api = client.get("/api/townships.geojson")
        assert api.status_code == 503
        assert "unavailable" in api.json()["detail"]

        cluster.start()
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/townships.geojson").status_code == 200
        engine.dispose()
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)
