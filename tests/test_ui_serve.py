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
