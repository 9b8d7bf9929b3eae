"""The benchmark suite's machinery at a trivial scale: it runs, and results.json has its shape.

No timing is asserted here (timings belong to ``make bench``); this only checks that every case
runs end to end against the test cluster, that each metric carries value, unit, target, peer,
peer value and ratio, and that a peer that cannot be had is reported as unavailable.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bench.config import QUICK
from bench.peers import pygeoapi_server
from bench.report import NOTES_MARKER
from bench.run import run_suite
from server.cli.bench import bench_app

EXPECTED = {
    "demo_load_rate",
    "hotspots_ms",
    "wall_open_ms",
    "wall_refresh_p50_ms",
    "wall_refresh_bytes",
    "ogc_items_rate",
    "ingest_rate",
    "ingest_p50_ms",
    "ingest_p99_ms",
    "township_join_s",
    "township_join_peak_mb",
    "township_join_large_s",
    "township_join_large_peak_mb",
    "demo_load_large_rate",
}
KEYS = {"value", "unit", "target", "peer", "peer_value", "ratio"}
TARGET = re.compile(r"^(>=|<=) -?[0-9][0-9.e+-]*$")


@pytest.fixture(scope="module")
def results(pg_cluster, tmp_path_factory, monkeypatch_module) -> tuple[dict, Path]:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("bench-out")
    # The pygeoapi peer is reported as unavailable without starting it (fast, and the path
    # taken where it is not installed).
    monkeypatch_module.setattr(pygeoapi_server, "available", lambda: "not installed (test)")
    config = replace(
        QUICK,
        mode="smoke",
        scale=400,
        ingest_s=0.3,
        ingest_warmup_s=0.1,
        ingest_concurrency=4,
        wall_opens=1,
        wall_rounds=1,
        peer_wall_reps=1,
        hotspot_reps=1,
        peer_hotspot_reps=1,
        ogc_s=0.3,
        ogc_concurrency=2,
        join_reps=1,
        join_points=2_000,
        demo_scale=600,
        out_dir=out,
    )
    doc = run_suite(config, cluster=pg_cluster, db_name="lookback_bench_smoke",
                    command="pytest tests/test_bench_smoke.py", log=lambda _m: None)
    return doc, out


@pytest.fixture(scope="module")
def monkeypatch_module():  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_every_case_ran(results) -> None:  # type: ignore[no-untyped-def]
    doc, _ = results
    assert not [n for n in doc["notes"] if "failed" in n], doc["notes"]
    assert EXPECTED <= set(doc["metrics"])


def test_results_json_structure(results) -> None:  # type: ignore[no-untyped-def]
    doc, out = results
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["metrics"].keys() == doc["metrics"].keys()
    assert isinstance(on_disk["machine"], dict)
    assert {"cpu", "cores", "python", "postgresql", "postgis"} <= set(on_disk["machine"])
    for name, metric in on_disk["metrics"].items():
        assert KEYS <= set(metric), name
        assert isinstance(metric["unit"], str) and metric["unit"], name
        assert metric["target"] is None or TARGET.match(metric["target"]), (name, metric)
        for key in ("value", "peer_value", "ratio"):
            assert metric[key] is None or isinstance(metric[key], int | float), (name, key)
    # Comparisons that ran carry a peer value and a ratio; demo generation has no peer.
    for name in ("hotspots_ms", "wall_open_ms", "ingest_rate", "township_join_s"):
        m = on_disk["metrics"][name]
        assert m["value"] is not None and m["peer_value"] is not None and m["ratio"] is not None
        assert m["target"] is not None
    assert on_disk["metrics"]["demo_load_rate"]["peer"] is None


def test_unavailable_peer_is_reported_not_faked(results) -> None:  # type: ignore[no-untyped-def]
    doc, _ = results
    ogc = doc["metrics"]["ogc_items_rate"]
    assert "unavailable" in ogc["peer"]
    assert ogc["peer_value"] is None and ogc["ratio"] is None and ogc["target"] is None
    assert ogc["value"] is not None


def test_results_markdown_written(results) -> None:  # type: ignore[no-untyped-def]
    _, out = results
    text = (out / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Machine" in text and "## Results" in text and NOTES_MARKER in text
    assert "ingest_rate" in text


def test_cli_help() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(bench_app, ["--help"])
    assert result.exit_code == 0
    assert "--quick" in result.output
