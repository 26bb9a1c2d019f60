"""A throw-away PostgreSQL server for the storage tests (Debian `postgresql` package).

``initdb`` + ``pg_ctl`` into a fresh temporary folder, listening on 127.0.0.1 on a free
port (no Unix socket in a shared place), trust authentication for the local test user.
PostgreSQL refuses to run as root, so under root the server runs as the ``postgres``
system user (created by the Debian package). Stopped by its PID; the folder is removed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not dirs:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs the Debian `postgresql` package "
                           "(apt-get install postgresql)")
    return Path(dirs[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: ``admin_url`` for the ``postgres`` database, ``pid`` to stop it."""

    folder: Path
    port: int
    pid: int
    user: str = "epu"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)  # "fast" shutdown
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PostgresServer:
    """Start a server in a new temporary folder; raise with the server log if it fails."""
    bindir = _bindir()
    folder = Path(tempfile.mkdtemp(prefix="epu-pg-"))
    run_as: dict = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        run_as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data, log = folder / "data", folder / "server.log"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run([bindir / "initdb", "-D", data, "-U", "epu", "-A", "trust", "-E", "UTF8",
                    "--no-sync", "--no-instructions"], check=True, capture_output=True, env=env,
                   cwd=folder, **run_as)
    port = _free_port()
    opts = (f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
    proc = subprocess.run([bindir / "pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start"],
                          check=False, capture_output=True, env=env, cwd=folder, **run_as)
    if proc.returncode != 0:
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else proc.stderr.decode()[-2000:]
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start:\n{detail}")
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    return PostgresServer(folder, port, pid)
