"""The embedded cluster: start is idempotent, stale pid files and busy ports are handled."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess

import pytest

from gis.db.embedded import SUPERUSER, Cluster, ClusterError, find_pg_bin, free_port
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


OTHER_ACCOUNT = "nobody"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _psql_as(account: str, cluster: Cluster, host: str, password: str | None = None):  # type: ignore[no-untyped-def]
    """Run ``psql -c 'SELECT 1'`` as another OS account (never prompting for a password)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PGCONNECT_TIMEOUT": "5"}
    if password is not None:
        env["PGPASSWORD"] = password
    argv = [str(find_pg_bin() / "psql"), "-w", "-h", host, "-p", str(cluster.port)]
    argv += ["-U", SUPERUSER, "-d", "postgres", "-tAc", "SELECT 1"]
    return subprocess.run(
        [RUNUSER, "-u", account, "--", *argv], env=env, capture_output=True, text=True
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local account")
def test_another_local_account_cannot_connect(spare_cluster: Cluster) -> None:
    spare_cluster.start()
    # The app (this process) connects through the URL it always used: no password in it.
    assert ":" not in spare_cluster.url().split("@")[0].split("//")[1]
    import psycopg

    with psycopg.connect(
        host=str(spare_cluster.socket_dir),
        port=spare_cluster.port,
        user=SUPERUSER,
        dbname="postgres",
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # Another account: the socket folder is closed to it, TCP wants the password.
    socket_try = _psql_as(OTHER_ACCOUNT, spare_cluster, str(spare_cluster.socket_dir))
    assert socket_try.returncode != 0 and "1" != socket_try.stdout.strip()
    tcp_try = _psql_as(OTHER_ACCOUNT, spare_cluster, "127.0.0.1")
    assert tcp_try.returncode != 0 and "password" in tcp_try.stderr
    wrong = _psql_as(OTHER_ACCOUNT, spare_cluster, "127.0.0.1", password="guess")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    # Even with the socket folder opened up, peer authentication refuses the account.
    spare_cluster.root.chmod(0o755)
    spare_cluster.socket_dir.chmod(0o755)
    for entry in spare_cluster.socket_dir.iterdir():
        entry.chmod(0o777)
    opened = _psql_as(OTHER_ACCOUNT, spare_cluster, str(spare_cluster.socket_dir))
    assert opened.returncode != 0 and "authentication failed" in opened.stderr, opened.stderr
    # The password itself is readable by the app only; it works over TCP.
    password = spare_cluster.password_file.read_text().strip()
    with psycopg.connect(spare_cluster.tcp_url("postgres").replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert password


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local account")
def test_the_cluster_files_are_closed_to_other_accounts(spare_cluster: Cluster) -> None:
    spare_cluster.start()
    for path in (spare_cluster.data_dir, spare_cluster.socket_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE(spare_cluster.root.stat().st_mode) & 0o007 == 0
    for path in (spare_cluster.password_file, spare_cluster.log_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    hba = (spare_cluster.data_dir / "pg_hba.conf").read_text()
    assert "trust" not in hba.replace("# ", "") and "peer map=lookback" in hba
    listing = subprocess.run(
        ["runuser", "-u", OTHER_ACCOUNT, "--", "ls", str(spare_cluster.root)],
        capture_output=True,
        text=True,
    )
    assert listing.returncode != 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local account")
def test_a_cluster_that_trusted_everyone_is_closed_at_start(spare_cluster: Cluster) -> None:
    spare_cluster.start()
    spare_cluster.stop()
    (spare_cluster.data_dir / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
    )
    spare_cluster.root.chmod(0o755)
    spare_cluster.socket_dir.chmod(0o777)
    spare_cluster.start()
    assert "trust" not in (spare_cluster.data_dir / "pg_hba.conf").read_text().replace("# ", "")
    assert _psql_as(OTHER_ACCOUNT, spare_cluster, "127.0.0.1").returncode != 0
