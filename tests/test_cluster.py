"""The embedded cluster: start is idempotent, stale pid files and busy ports are handled."""

from __future__ import annotations

import shutil
import socket

import pytest

from gis.db.embedded import Cluster, ClusterError, free_port
from tests.conftest import new_cluster_root


@pytest.fixture
def spare_cluster():  # type: ignore[no-untyped-def]
    root = new_cluster_root("lookback-spare-")
    cluster = Cluster(root, free_port())
    yield cluster
    cluster.stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


def test_start_is_idempotent_and_status_reports(spare_cluster: Cluster) -> None:
    assert not spare_cluster.status().initialised
    spare_cluster.start()
    pid = spare_cluster.running_pid()
    assert pid
    spare_cluster.start()  # again: no error, same server
    assert spare_cluster.running_pid() == pid
    status = spare_cluster.status()
    assert status.running and status.initialised and str(spare_cluster.socket_dir) in status.url
    spare_cluster.stop()
    assert spare_cluster.running_pid() is None
    assert not spare_cluster.status().running


def test_stale_pid_file_does_not_block_start(spare_cluster: Cluster) -> None:
    spare_cluster.start()
    spare_cluster.kill()
    # A crashed server leaves its pid file behind; the pid no longer runs.
    spare_cluster.pid_file.write_text("999999\n/nowhere\n")
    assert spare_cluster.running_pid() is None
    spare_cluster.start()
    assert spare_cluster.running_pid()


def test_port_in_use_gets_a_clear_message(spare_cluster: Cluster) -> None:
    spare_cluster.init()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", spare_cluster.port))
        blocker.listen()
        with pytest.raises(ClusterError, match=f"port {spare_cluster.port}.*LOOKBACK_PG_PORT"):
            spare_cluster.start()
