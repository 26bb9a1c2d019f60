"""The ``make run`` launcher: warm-up is best effort, arguments reach ``streamlit run``."""

from __future__ import annotations

import sys

from epu_mapper.settings import REPO_ROOT
from epu_mapper.ui import serve


def test_warm_up_never_raises_without_a_build(tmp_path, monkeypatch):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "nothing-here"))
    assert serve.warm() is None


def test_main_runs_streamlit_on_app_py(monkeypatch):
    seen: dict[str, list[str]] = {}
    monkeypatch.setattr(serve, "warm", lambda: None)
    from streamlit.web import cli as stcli

    monkeypatch.setattr(stcli, "main", lambda: seen.setdefault("argv", list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["serve"])
    serve.main(["--server.port", "9999"])
    assert seen["argv"] == ["streamlit", "run", str(REPO_ROOT / "app.py"), "--server.port", "9999"]


def test_waiting_for_the_warm_up_returns_once_the_context_is_ready(monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setattr(serve, "_context_ready", threading.Event())
    thread = threading.Thread(target=release.wait, daemon=True)  # a warm-up still running
    thread.start()
    monkeypatch.setattr(serve, "_warm_thread", thread)
    serve._context_ready.set()
    serve.wait_for_warm_up(timeout=5)  # returns at once: the context part is done
    assert thread.is_alive()
    release.set()
    thread.join(5)
    serve.wait_for_warm_up(timeout=5)  # no-op once the thread has ended
