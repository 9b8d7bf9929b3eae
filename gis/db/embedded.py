"""The embedded PostgreSQL + PostGIS cluster: a private server the product starts itself.

The cluster lives in one folder (``$LOOKBACK_HOME/pg``): ``data/`` holds the database files,
``run/`` the Unix socket, ``postgres.log`` the server log and ``password`` the password for
loopback TCP. When run as root the server runs as an unprivileged system user, because
``initdb`` refuses root.

Only the cluster's OS user and the OS user that starts it (the app) may connect: the Unix socket
uses ``peer`` authentication mapped to those two accounts (``pg_ident.conf``), loopback TCP needs
the generated password (``scram-sha-256``), and the folder, the data, the socket folder, the log
and the password file are closed to every other account. The access files are rewritten at each
start, so a cluster made by an older version that trusted every local account is closed too.
"""

from __future__ import annotations

import errno
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gis.errors import LookbackError

PG_MAJOR_VERSIONS = (17, 16, 15)
SUPERUSER = "lookback"
DATABASE = "lookback"


class ClusterError(LookbackError, RuntimeError):
    """A problem with the embedded cluster, worded for the person at the terminal."""

    kind = "failed"


def find_pg_bin() -> Path:
    """The bin folder of an installed PostgreSQL server that has PostGIS, newest first."""
    candidates = []
    for major in PG_MAJOR_VERSIONS:
        bin_dir = Path(f"/usr/lib/postgresql/{major}/bin")
        if (bin_dir / "initdb").exists():
            candidates.append((major, bin_dir))
    if not candidates:
        raise ClusterError(
            "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/<15..17>/bin). "
            "Install them with: apt-get install postgresql-15 postgresql-15-postgis-3"
        )
    for major, bin_dir in candidates:
        if Path(f"/usr/share/postgresql/{major}/extension/postgis.control").exists():
            return bin_dir
    major = candidates[0][0]
    raise ClusterError(
        f"PostGIS is not installed for PostgreSQL {major}. "
        f"Install it with: apt-get install postgresql-{major}-postgis-3"
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port() -> int:
    """An unused loopback port chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ClusterStatus:
    initialised: bool
    running: bool
    pid: int | None
    port: int
    data_dir: Path
    url: str


class Cluster:
    """A private PostgreSQL cluster in ``root`` on a Unix socket and ``127.0.0.1:port``."""

    def __init__(self, root: Path, port: int, run_user: str = SUPERUSER) -> None:
        self.root = Path(root).resolve()
        self.port = port
        self.run_user = run_user if os.geteuid() == 0 else None

    # -- paths ---------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "postmaster.pid"

    def url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL over the Unix socket (peer authentication: no password in it)."""
        return (
            f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"
        )

    def tcp_url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL over loopback TCP with the generated password."""
        password = self.password_file.read_text().strip()
        return f"postgresql+psycopg://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    # -- running commands ----------------------------------------------------------------------
    def _cmd(self, *args: str | os.PathLike[str]) -> list[str]:
        argv = [str(a) for a in args]
        if self.run_user:
            return ["runuser", "-u", self.run_user, "--", *argv]
        return argv

    def _run(
        self, *args: str | os.PathLike[str], check: bool = True
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{Path(str(args[0])).name} failed: {proc.stderr.strip() or proc.stdout}"
            )
        return proc

    def _ensure_run_user(self) -> None:
        if not self.run_user:
            return
        try:
            pwd.getpwnam(self.run_user)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    self.run_user,
                ],
                check=True,
                capture_output=True,
            )

    def _chown(self, path: Path) -> None:
        if self.run_user:
            entry = pwd.getpwnam(self.run_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _owner_ids(self) -> tuple[int, int]:
        if self.run_user:
            entry = pwd.getpwnam(self.run_user)
            return entry.pw_uid, entry.pw_gid
        return os.geteuid(), os.getegid()

    def _lock_down(self) -> None:
        """Close the cluster's files to every account but the cluster's and the app's."""
        uid, gid = self._owner_ids()
        if self.run_user:
            # root (the app) owns the folder; the cluster's group may only pass through it.
            os.chown(self.root, os.geteuid(), gid)
            self.root.chmod(0o710)
        else:
            self.root.chmod(0o700)
        for folder in (self.data_dir, self.socket_dir):
            if folder.exists():
                self._chown(folder)
                folder.chmod(0o700)
        if self.log_file.exists():
            self._chown(self.log_file)
            self.log_file.chmod(0o600)
        if self.password_file.exists():
            self.password_file.chmod(0o600)

    def app_os_user(self) -> str:
        """The OS account of this process: it may connect over the socket as the superuser."""
        return pwd.getpwuid(os.geteuid()).pw_name

    def _write_access(self) -> bool:
        """Write pg_hba.conf and pg_ident.conf; True when they changed."""
        hba = (
            "# written by lookback at each start: peer on the socket for the mapped OS accounts,\n"
            "# the generated password on loopback TCP, nothing else.\n"
            "local   all   all                  peer map=lookback\n"
            "host    all   all   127.0.0.1/32   scram-sha-256\n"
        )
        accounts = dict.fromkeys([self.app_os_user(), self.run_user or self.app_os_user()])
        ident = "# written by lookback at each start\n" + "".join(
            f"lookback   {account}   {SUPERUSER}\n" for account in accounts
        )
        changed = False
        for name, text in (("pg_hba.conf", hba), ("pg_ident.conf", ident)):
            path = self.data_dir / name
            old = path.read_text() if path.exists() else None
            if old != text:
                path.write_text(text)
                self._chown(path)
                path.chmod(0o600)
                changed = True
        return changed

    def _check_traversable(self) -> None:
        if not self.run_user:
            return
        probe = subprocess.run(
            ["runuser", "-u", self.run_user, "--", "test", "-x", str(self.root)],
            capture_output=True,
        )
        if probe.returncode != 0:
            raise ClusterError(
                f"the system user '{self.run_user}' cannot reach {self.root}: a parent folder "
                "is not searchable by others. Set LOOKBACK_HOME to a folder under /var/lib or "
                "/srv, or run `chmod o+x` on its parents."
            )

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster once (initdb); a no-op when it exists."""
        if self.initialised:
            return
        bin_dir = find_pg_bin()
        self._ensure_run_user()
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(exist_ok=True)
            self._chown(folder)
        self._lock_down()
        self._check_traversable()
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        pwfile = self.socket_dir / ".initdb-pw"
        pwfile.write_text(password + "\n")
        self._chown(pwfile)
        try:
            self._run(
                bin_dir / "initdb",
                "-D",
                self.data_dir,
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# written by lookback\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "unix_socket_permissions = 0700\n"
                "max_connections = 100\n"
                "shared_buffers = 256MB\n"
                "logging_collector = off\n"
                "jit = off\n"
            )

    def running_pid(self) -> int | None:
        """The postmaster's pid when it is alive, else None (a stale pid file reads as None)."""
        try:
            first = self.pid_file.read_text().splitlines()[0]
            pid = int(first)
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server (initialising it first); a no-op when it already runs."""
        self.init()
        self._lock_down()
        changed = self._write_access()
        if self.running_pid():
            if changed:
                self._run(find_pg_bin() / "pg_ctl", "reload", "-D", self.data_dir)
            return
        if self.pid_file.exists():
            # PostgreSQL itself checks the pid in a leftover lock file; say what we found.
            self.pid_file.unlink()
        if not port_is_free(self.port):
            raise ClusterError(
                f"port {self.port} on 127.0.0.1 is in use by another program; "
                "set LOOKBACK_PG_PORT to a free port"
            )
        bin_dir = find_pg_bin()
        if not self.log_file.exists():
            self.log_file.touch()
        self._chown(self.log_file)
        self.log_file.chmod(0o600)
        proc = self._run(
            bin_dir / "pg_ctl",
            "start",
            "-w",
            "-t",
            str(int(timeout_s)),
            "-D",
            self.data_dir,
            "-l",
            self.log_file,
            "-o",
            f"-p {self.port} -k {self.socket_dir} -c unix_socket_permissions=0700",
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-8:])
            raise ClusterError(f"the database server did not start:\n{tail}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(
                    host=str(self.socket_dir),
                    port=self.port,
                    user=SUPERUSER,
                    dbname="postgres",
                    autocommit=True,
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; a no-op when it is not running."""
        if not self.running_pid():
            return
        self._run(find_pg_bin() / "pg_ctl", "stop", "-w", "-m", mode, "-D", self.data_dir)

    def kill(self) -> None:
        """Kill the postmaster at once (for failure tests)."""
        pid = self.running_pid()
        if pid:
            os.kill(pid, 9)
            for _ in range(100):
                if not self.running_pid():
                    break
                time.sleep(0.05)

    def destroy(self) -> None:
        """Stop and delete the cluster folder."""
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def status(self) -> ClusterStatus:
        return ClusterStatus(
            initialised=self.initialised,
            running=self.running_pid() is not None,
            pid=self.running_pid(),
            port=self.port,
            data_dir=self.data_dir,
            url=self.url(),
        )
