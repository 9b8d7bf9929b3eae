"""Backup and restore: a round trip into a fresh cluster, refusals, tampering, read-only storage."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gis.config import get_settings
from gis.db.backup import (
    DUMP_MEMBER,
    MANIFEST_MEMBER,
    BackupError,
    create_backup,
    restore_backup,
    verify_archive,
)
from gis.db.embedded import Cluster, free_port
from gis.db.engine import make_engine, upgrade
from gis.field.photos import blob_path, store_blob

try:
    from tests.conftest import DEMO_AS_OF, DEMO_SEED, create_database, new_cluster_root
    from tests.factories import make_token
except ImportError:  # a site-packages package named "tests" (pygeoapi ships one) shadows ours
    from conftest import DEMO_AS_OF, DEMO_SEED, create_database, new_cluster_root  # type: ignore
    from factories import make_token  # type: ignore

ROOT = Path(__file__).resolve().parent.parent

TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS (
  SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
  AND d.deptype = 'e')
ORDER BY 1
"""


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and md5 of its rows in a fixed order, and every sequence's value."""
    found: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for (table,) in conn.execute(text(TABLES_SQL)).all():
            count, digest = conn.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text)"
                    f", '')) FROM \"{table}\" t"
                )
            ).one()
            found[table] = (int(count), str(digest))
        for name, value in conn.execute(
            text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        ):
            found[f"sequence {name}"] = (int(value or 0), "")
    return found


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` by relative path (temporary files ignored)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


@pytest.fixture(scope="module")
def source(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """The demo county with users, tokens and three attachments (rows and files)."""
    from gis.demo.county import load_demo

    url = create_database(pg_cluster, "lookback_backup_src")
    upgrade(url)
    engine = make_engine(url)
    load_demo(engine, scale=300, seed=DEMO_SEED, as_of=DEMO_AS_OF)
    make_token(engine, "office")
    attachments = tmp_path_factory.mktemp("attachments-src")
    with engine.begin() as conn:
        problem_id = conn.execute(text("SELECT min(id) FROM problems")).scalar_one()
        for i in range(3):
            data = os.urandom(2000 + i) + "照片".encode()
            sha = hashlib.sha256(data).hexdigest()
            store_blob(attachments, sha, data)
            conn.execute(
                text(
                    "INSERT INTO attachments (sha256, filename, media_type, size_bytes, problem_id,"
                    " uploaded_by)"
                    " VALUES (:s, :f, 'image/jpeg', :n, :p, 'test')"
                ),
                {"s": sha, "f": f"现场{i}.jpg", "n": len(data), "p": problem_id},
            )
    (attachments / "ab").mkdir(exist_ok=True)
    (attachments / "ab" / ".incoming-x.part").write_bytes(b"half a photo")  # not backed up
    yield url, engine, attachments
    engine.dispose()


@pytest.fixture(scope="module")
def archive(source: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    url, _, attachments = source
    dest = tmp_path_factory.mktemp("backups") / "lookback.tar"
    stages: set[str] = set()
    manifest = create_backup(
        dest, url=url, attachments_dir=attachments, progress=lambda s, d, t: stages.add(s)
    )
    assert {"dumping database", "packing attachments"} <= stages
    assert manifest.tables["problems"] == 300 and manifest.tables["attachments"] == 3
    assert manifest.schema_revision
    assert not list(dest.parent.glob(".*part")), "temporary files left behind"
    return dest


@pytest.fixture(scope="module")
def fresh_cluster() -> Iterator[Cluster]:
    root = new_cluster_root("lookback-restore-")
    cluster = Cluster(root, free_port())
    cluster.start()
    yield cluster
    cluster.stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


def test_manifest_lists_every_member_with_checksums(archive: Path) -> None:
    import json
    import tarfile

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(MANIFEST_MEMBER).read())  # type: ignore[union-attr]
    assert names[0] == DUMP_MEMBER and names[-2:] == [MANIFEST_MEMBER, "manifest.sha256"]
    assert manifest["format"] == "lookback-backup" and manifest["format_version"] == 1
    assert manifest["created_at"] and manifest["schema_revision"]
    assert set(manifest["members"]) == set(names[:-2])
    assert sum(n.startswith("attachments/") for n in names) == 3
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())


def test_restore_into_a_fresh_cluster_is_identical(
    source: tuple, archive: Path, fresh_cluster: Cluster, tmp_path: Path
) -> None:
    _, src_engine, src_attachments = source
    target_attachments = tmp_path / "attachments"
    report = restore_backup(archive, url=fresh_cluster.url(), attachments_dir=target_attachments)
    assert report.attachments == 3
    engine = make_engine(fresh_cluster.url())
    try:
        expected = fingerprint(src_engine)
        assert expected["problems"][0] == 300 and expected["attachments"][0] == 3
        assert fingerprint(engine) == expected
        assert file_hashes(target_attachments) == file_hashes(src_attachments)
        with engine.connect() as conn:
            for sha in conn.execute(text("SELECT sha256 FROM attachments")).scalars():
                assert blob_path(target_attachments, sha).is_file()
        # the restored database is complete: migrations are at head and the events guard works
        upgrade(fresh_cluster.url())
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM events"))
    finally:
        engine.dispose()


def test_non_empty_database_needs_force(
    source: tuple, archive: Path, pg_cluster: Cluster, tmp_path: Path
) -> None:
    url = create_database(pg_cluster, "lookback_backup_force")
    upgrade(url)
    engine = make_engine(url)
    try:
        # a migrated but empty database is empty: restore needs no --force
        restore_backup(archive, url=url, attachments_dir=tmp_path / "a")
        with pytest.raises(BackupError, match="not empty.*--force"):
            restore_backup(archive, url=url, attachments_dir=tmp_path / "a")
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM complaints WHERE id IN (SELECT min(id) FROM complaints)")
            )
        report = restore_backup(archive, url=url, attachments_dir=tmp_path / "a", force=True)
        assert report.replaced_rows > 0
        assert fingerprint(engine) == fingerprint(source[1])
    finally:
        engine.dispose()


def test_failed_restore_changes_nothing(
    source: tuple, archive: Path, pg_cluster: Cluster, tmp_path: Path
) -> None:
    url = create_database(pg_cluster, "lookback_backup_atomic")
    restore_backup(archive, url=url, attachments_dir=tmp_path / "a")
    engine = make_engine(url)
    try:
        before = fingerprint(engine)
        with engine.begin() as conn:  # make the restore fail after it has dropped everything
            conn.execute(text("CREATE SCHEMA block"))
            conn.execute(
                text(
                    "CREATE FUNCTION block.no_problems() RETURNS event_trigger LANGUAGE plpgsql"
                    " AS $$ BEGIN IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()"
                    " WHERE object_identity = 'public.problems') THEN"
                    " RAISE EXCEPTION 'blocked by the test'; END IF; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE EVENT TRIGGER no_problems ON ddl_command_end"
                    " EXECUTE FUNCTION block.no_problems()"
                )
            )
        with pytest.raises(BackupError, match="rolled back.*blocked by the test"):
            restore_backup(archive, url=url, attachments_dir=tmp_path / "a", force=True)
        assert fingerprint(engine) == before == fingerprint(source[1])
        assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
        with engine.begin() as conn:
            conn.execute(text("DROP EVENT TRIGGER no_problems"))
    finally:
        engine.dispose()


def flip_byte(archive: Path, member: str, dest: Path) -> Path:
    """A copy of ``archive`` with one byte in the middle of ``member``'s data inverted."""
    import tarfile

    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    raw = bytearray(archive.read_bytes())
    raw[info.offset_data + info.size // 2] ^= 0xFF
    dest.write_bytes(bytes(raw))
    return dest


@pytest.mark.parametrize("which", ["attachment", DUMP_MEMBER, MANIFEST_MEMBER])
def test_tampered_archive_is_refused_naming_the_member(
    archive: Path, pg_cluster: Cluster, tmp_path: Path, which: str
) -> None:
    import tarfile

    with tarfile.open(archive) as tar:
        names = tar.getnames()
    member = (
        next(n for n in names if n.startswith("attachments/")) if which == "attachment" else which
    )
    bad = flip_byte(archive, member, tmp_path / "tampered.tar")
    url = create_database(pg_cluster, "lookback_backup_tamper")
    upgrade(url)
    with pytest.raises(BackupError) as refused:
        restore_backup(bad, url=url, attachments_dir=tmp_path / "attachments")
    assert f"'{member}'" in str(refused.value)
    assert "nothing was restored" in str(refused.value)
    engine = make_engine(url)
    try:
        assert fingerprint(engine)["problems"][0] == 0, "the database was touched"
    finally:
        engine.dispose()
    assert not (tmp_path / "attachments").exists(), "attachments were touched"


def test_damaged_tar_header_is_refused(archive: Path, tmp_path: Path) -> None:
    import tarfile

    with tarfile.open(archive) as tar:
        info = tar.getmembers()[1]
    raw = bytearray(archive.read_bytes())
    raw[info.offset + 10] ^= 0xFF  # inside the member's name in its header
    (tmp_path / "bad.tar").write_bytes(bytes(raw))
    with pytest.raises(BackupError, match="damaged|unexpected member|not listed"):
        verify_archive(tmp_path / "bad.tar")


@contextmanager
def small_mount(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``path`` with ``options`` (root with CAP_SYS_ADMIN only)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small or read-only folder needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "lookback-test", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (no CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


@contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """A folder nobody can write: a read-only tmpfs as root, mode 0555 otherwise."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "lookback-ro", str(path)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only folder here (no CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_backup_into_read_only_folder_is_a_clear_error(source: tuple, tmp_path: Path) -> None:
    url, _, attachments = source
    with read_only_dir(tmp_path / "ro") as ro:
        with pytest.raises(BackupError) as refused:
            create_backup(ro / "b.tar", url=url, attachments_dir=attachments)
        assert "read-only or not writable" in str(refused.value)
        assert str(ro / "b.tar") in str(refused.value)
        env = {**os.environ, "DATABASE_URL": url, "LOOKBACK_HOME": str(tmp_path / "home")}
        cli = subprocess.run(
            [
                sys.executable,
                "-c",
                "from server.cli.ops import ops_app; ops_app(prog_name='lookback')",
                "backup",
                str(ro / "b.tar"),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
    assert cli.returncode == 1
    assert "error:" in cli.stderr and "read-only" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr + cli.stdout


def test_backup_onto_a_full_disk_is_a_clear_error(source: tuple, tmp_path: Path) -> None:
    url, _, attachments = source
    with small_mount(tmp_path / "full", "size=256k") as full:
        (full / "filler").write_bytes(b"\0" * 200_000)
        with pytest.raises(BackupError, match="not enough free space|disk is full"):
            create_backup(full / "b.tar", url=url, attachments_dir=attachments)
        assert sorted(p.name for p in full.iterdir()) == ["filler"], "partial files left"


def test_restore_with_read_only_attachments_is_a_clear_error(
    archive: Path, pg_cluster: Cluster, tmp_path: Path
) -> None:
    url = create_database(pg_cluster, "lookback_backup_ro")
    with read_only_dir(tmp_path / "ro") as ro:
        with pytest.raises(BackupError, match="attachments folder .* must be writable"):
            restore_backup(archive, url=url, attachments_dir=ro / "attachments")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('public.problems')")).scalar() is None
    finally:
        engine.dispose()


def test_cli_backup_and_restore(
    source: tuple, pg_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.cli.ops import ops_app

    url, src_engine, attachments = source
    home = tmp_path / "home"
    shutil.copytree(attachments, home / "attachments")
    monkeypatch.setenv("LOOKBACK_HOME", str(home))
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(ops_app, ["backup", str(tmp_path / "cli.tar")])
        assert made.exit_code == 0, made.output
        assert "backup written" in made.output and "3 attachments" in made.output

        target = create_database(pg_cluster, "lookback_backup_cli")
        monkeypatch.setenv("DATABASE_URL", target)
        monkeypatch.setenv("LOOKBACK_HOME", str(tmp_path / "home2"))
        get_settings.cache_clear()
        done = runner.invoke(ops_app, ["restore", str(tmp_path / "cli.tar")])
        assert done.exit_code == 0, done.output
        again = runner.invoke(ops_app, ["restore", str(tmp_path / "cli.tar")])
        assert again.exit_code == 1 and "--force" in again.output
        forced = runner.invoke(ops_app, ["restore", str(tmp_path / "cli.tar"), "--force"])
        assert forced.exit_code == 0, forced.output
        engine = make_engine(target)
        try:
            assert fingerprint(engine) == fingerprint(src_engine)
        finally:
            engine.dispose()
        assert file_hashes(tmp_path / "home2" / "attachments") == file_hashes(attachments)
    finally:
        get_settings.cache_clear()
