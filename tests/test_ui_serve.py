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


def test_postcode_index_waits_for_the_first_page_run(monkeypatch):
    """The context and the default gaps query come first; the postcode index only once a page
    run has finished (so it does not compete with the first visitor's page)."""
    import threading

    from epu_mapper import api, postcodes

    calls: list[str] = []
    monkeypatch.setattr(api, "load_context", lambda settings=None: calls.append("context") or "ctx")
    monkeypatch.setattr(api, "gaps", lambda ctx, level, **kw: calls.append(f"gaps {level}"))
    monkeypatch.setattr(postcodes, "get_index", lambda settings=None: calls.append("postcodes"))
    monkeypatch.setattr(serve, "_context_ready", threading.Event())
    monkeypatch.setattr(serve, "_first_page_ran", threading.Event())
    thread = threading.Thread(target=serve.warm, kwargs={"postcode_delay_s": 60,
                                                         "postcode_grace_s": 0}, daemon=True)
    thread.start()
    assert serve._context_ready.wait(30)
    assert thread.is_alive()  # waiting for a page run
    assert calls == ["context", "gaps nhs_region"]
    serve.page_ran()
    thread.join(30)
    assert not thread.is_alive()
    assert calls == ["context", "gaps nhs_region", "postcodes"]


def test_warm_up_imports_the_page_modules_but_not_streamlit_folium():
    """``streamlit_folium`` declares its component on import, which must happen in a script run."""
    assert "streamlit_folium" not in serve.WARM_IMPORTS
    assert "folium.plugins" in serve.WARM_IMPORTS


def test_guarded_pages_report_each_run_even_on_errors(monkeypatch):
    import threading

    from epu_mapper.errors import EpuMapperError
    from epu_mapper.ui import common

    monkeypatch.setattr(serve, "_first_page_ran", threading.Event())
    monkeypatch.setattr(common.st, "error", lambda *a, **k: None)

    def failing() -> None:
        raise EpuMapperError("no")

    common.guarded(failing)()
    assert serve._first_page_ran.is_set()


def test_module_entry_point_starts_the_importable_module(monkeypatch):
    """``python -m epu_mapper.ui.serve`` runs as ``__main__``; the pages import
    ``epu_mapper.ui.serve``, so the warm-up state must live in that module."""
    import runpy

    seen: list[str] = []
    monkeypatch.setattr(serve, "main", lambda argv=None: seen.append("main"))
    runpy.run_path(serve.__file__, run_name="__main__")
    assert seen == ["main"]


def test_warm_up_computes_the_gaps_page_default_and_imports_the_first_page():
    """The warm-up's gaps query is the one the Regional gaps page opens with (level, time and
    unknown-hours policy), so the first map hits the api's cache; the first page's modules
    import without declaring a component."""
    import subprocess

    from epu_mapper.levels import LEVELS
    from epu_mapper.ui.format import PRESETS
    from epu_mapper.ui.pages import gaps

    level, hour, policy = serve.DEFAULT_GAPS
    assert level == LEVELS[1]  # the page's Regions box opens at index 1
    assert hour == PRESETS[0].hour_of_week and not PRESETS[0].bank_holiday
    assert policy == next(iter(gaps.GAPS_POLICIES))
    code = ("import importlib, sys; from epu_mapper.ui import serve; "
            "[importlib.import_module(m) for m in serve.FIRST_PAGE_IMPORTS]; "
            "print(sorted(m for m in ('epu_mapper.upkeep', 'streamlit_folium') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.strip() == "['epu_mapper.upkeep']"


def test_the_warm_up_gaps_table_is_handed_out_once_for_the_same_context(monkeypatch):
    monkeypatch.setattr(serve, "_warm_tables", {})
    ctx, other = object(), object()
    serve._warm_tables[("nhs_region", 59, False, "range")] = (ctx, "table")
    assert serve.warm_gaps(ctx, "nhs_region", 59, False, "exclude") is None  # another query
    assert serve.warm_gaps(other, "nhs_region", 59, False, "range") is None  # another context
    serve._warm_tables[("nhs_region", 59, False, "range")] = (ctx, "table")
    assert serve.warm_gaps(ctx, "nhs_region", 59, False, "range") == "table"
    assert serve.warm_gaps(ctx, "nhs_region", 59, False, "range") is None  # once only
