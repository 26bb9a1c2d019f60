"""A throw-away PostgreSQL server for the storage tests (Debian `postgresql` package).

``initdb`` into a fresh temporary folder, then the ``postgres`` server itself as a child of the
test process, listening on 127.0.0.1 on a free port (its Unix socket in that folder), trust
authentication for the local test user. PostgreSQL refuses to run as root, so under root the
server runs as the ``postgres`` system user (created by the Debian package). Stopped by its PID
(SIGINT, fast shutdown) and the folder removed; if the test process is killed, the kernel sends
the server SIGTERM (PR_SET_PDEATHSIG), so no server outlives an interrupted run.
"""

from __future__ import annotations

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


def _die_with_parent() -> None:
    """In the server process: get SIGTERM when the test process dies (even if it is killed), so
    an interrupted test run never leaves a server behind (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class PostgresServer:
    """A running server (the ``postgres`` process itself, a child of the test process)."""

    folder: Path
    port: int
    proc: subprocess.Popen
    user: str = "epu"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown by PID (SIGINT), then remove the folder."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PostgresServer:
    """Start a server in a new temporary folder; raise with the server log if it fails."""
    import psycopg

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
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [bindir / "postgres", "-D", data, "-p", str(port), "-c", "listen_addresses=127.0.0.1",
             "-k", folder, "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=50"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder,
            preexec_fn=_die_with_parent, **run_as)  # noqa: PLW1509 - only prctl, no locks taken
    server = PostgresServer(folder, port, proc)
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(host="127.0.0.1", port=port, user="epu", dbname="postgres",
                            connect_timeout=2).close()
            return server
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                detail = log.read_text(errors="replace")[-2000:]
                server.stop()
                raise RuntimeError(f"PostgreSQL did not start:\n{detail}") from None
            time.sleep(0.2)
