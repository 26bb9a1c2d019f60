"""The app server answers hostile paths with 4xx, never HTTP 500 (a 5,000-character path did)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from epu_mapper.settings import REPO_ROOT
from epu_mapper.ui.serve import path_too_long


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "EPU_MAPPER_BUILD": "/nonexistent-build"}  # no warm-up work needed
    proc = subprocess.Popen(
        [sys.executable, "-m", "epu_mapper.ui.serve", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if _status(f"{base}/_stcore/health") == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the app server did not start")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.parametrize("path", [
    "app/static/" + "a" * 5_000, "app/static/" + "a" * 300, "app/static/" + "é" * 200,
    "app/static/" + "/".join(["a" * 200] * 30), "app/static/vendor/" + "b" * 5_000,
    "app/static/../../etc/passwd", "app/static/%2e%2e/%2e%2e/etc/passwd", "app/static/nope.js",
    "app/static/" + "%00" * 10, "media/" + "c" * 5_000, "component/" + "d" * 5_000,
])
def test_hostile_static_paths_get_4xx(server, path):
    status = _status(f"{server}/{urllib.parse.quote(path, safe='/%')}")
    assert 400 <= status < 500, (path[:40], status)


def test_ordinary_static_file_is_still_served(server):
    probe = REPO_ROOT / "static" / "geo" / "hostile-suite-probe.json"  # static/geo is git-ignored
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text("{}", encoding="utf-8")
    try:
        assert _status(f"{server}/app/static/geo/{probe.name}") == 200
    finally:
        probe.unlink()


def test_path_too_long_rule():
    assert path_too_long("a" * 256) and path_too_long("x/" * 1_100)
    assert not path_too_long("static/vendor/leaflet-1.9.4/leaflet.css")
