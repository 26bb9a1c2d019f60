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
    monkeypatch.setattr(serve, "_context_loading", threading.Event())
    thread = threading.Thread(target=release.wait, daemon=True)  # a warm-up still running
    thread.start()
    monkeypatch.setattr(serve, "_warm_thread", thread)
    serve._context_loading.set()
    serve._context_ready.set()
    serve.wait_for_warm_up(timeout=5)  # returns at once: the context part is done
    assert thread.is_alive()
    release.set()
    thread.join(5)
    serve.wait_for_warm_up(timeout=5)  # no-op once the thread has ended


def test_a_page_needing_the_context_first_does_not_wait_for_an_idle_warm_up(monkeypatch):
    """Regional gaps opened first: the warm-up is still waiting for that first page, so the
    page must load the context itself rather than wait for the warm-up (which waits for it)."""
    import threading
    import time

    release = threading.Event()
    monkeypatch.setattr(serve, "_context_ready", threading.Event())
    monkeypatch.setattr(serve, "_context_loading", threading.Event())
    thread = threading.Thread(target=release.wait, daemon=True)
    thread.start()
    monkeypatch.setattr(serve, "_warm_thread", thread)
    t0 = time.monotonic()
    serve.wait_for_warm_up(timeout=5)
    assert time.monotonic() - t0 < 1  # not the 5 s timeout
    release.set()
    thread.join(5)


def _record_warm_up(monkeypatch) -> list[str]:
    import threading

    from epu_mapper import api, postcodes
    from epu_mapper.travel import water

    calls: list[str] = []
    monkeypatch.setattr(api, "load_context", lambda settings=None: calls.append("context") or "ctx")
    monkeypatch.setattr(api, "gaps", lambda ctx, level, **kw: calls.append(f"gaps {level}"))
    monkeypatch.setattr(postcodes, "get_index", lambda settings=None: calls.append("postcodes"))
    monkeypatch.setattr(water, "load_model", lambda build_dir: calls.append("water"))
    monkeypatch.setattr(serve, "warm_scenarios", lambda ctx: calls.append("what-if"))
    monkeypatch.setattr(serve, "WARM_IMPORTS", ())
    for name in ("_context_ready", "_context_loading", "_first_page_ran"):
        monkeypatch.setattr(serve, name, threading.Event())
    monkeypatch.setattr(serve, "_runs_in_progress", 0)
    return calls


def test_the_warm_up_waits_for_the_first_page_run(monkeypatch):
    """Nothing heavy while the first visitor's page is drawn; then the context, the default
    gaps query, the postcode index and the water model, in that order."""
    import threading
    import time

    calls = _record_warm_up(monkeypatch)
    thread = threading.Thread(target=serve.warm, kwargs={"first_visit_wait_s": 60,
                                                         "grace_s": 0}, daemon=True)
    thread.start()
    serve.page_started()
    time.sleep(0.3)
    assert thread.is_alive() and calls == []  # waiting for the page run
    serve.page_ran()
    thread.join(30)
    assert not thread.is_alive()
    assert calls == ["context", "gaps nhs_region", "what-if", "postcodes", "water"]


def test_the_warm_up_starts_anyway_when_nobody_comes_but_not_inside_a_page_run(monkeypatch):
    import threading
    import time

    calls = _record_warm_up(monkeypatch)
    serve.page_started()  # a visitor's first run began just as the wait ran out
    thread = threading.Thread(target=serve.warm, kwargs={"first_visit_wait_s": 0.05,
                                                         "grace_s": 0}, daemon=True)
    thread.start()
    time.sleep(0.4)
    assert thread.is_alive() and calls == []
    serve.page_ran()
    thread.join(30)
    assert calls == ["context", "gaps nhs_region", "what-if", "postcodes", "water"]


def test_skipping_streamlits_direct_run_check():
    from streamlit import delta_generator

    before = delta_generator._use_warning_has_been_displayed
    try:
        assert serve.skip_direct_run_check() is True
        assert delta_generator._use_warning_has_been_displayed is True
    finally:
        delta_generator._use_warning_has_been_displayed = before


def test_warm_up_imports_the_page_modules():
    """The heavy modules of later pages, imported ahead (see the next test: without declaring
    a component, which must happen in a script run)."""
    assert "folium.plugins" in serve.WARM_IMPORTS and "epu_mapper.ui.common" in serve.WARM_IMPORTS
    assert "epu_mapper.ui.find_results" in serve.WARM_IMPORTS  # a first postcode's modules


def test_guarded_pages_report_each_run_even_on_errors(monkeypatch):
    import threading

    from epu_mapper.errors import EpuMapperError
    from epu_mapper.ui import shell

    monkeypatch.setattr(serve, "_first_page_ran", threading.Event())
    monkeypatch.setattr(shell.st, "error", lambda *a, **k: None)
    seen: list[int] = []

    def failing() -> None:
        seen.append(serve.runs_in_progress())
        raise EpuMapperError("no")

    shell.guarded(failing)()
    assert serve._first_page_ran.is_set()
    assert seen == [1] and serve.runs_in_progress() == 0  # counted while it ran, then not


def test_module_entry_point_starts_the_importable_module(monkeypatch):
    """``python -m epu_mapper.ui.serve`` runs as ``__main__``; the pages import
    ``epu_mapper.ui.serve``, so the warm-up state must live in that module."""
    import runpy

    seen: list[str] = []
    monkeypatch.setattr(serve, "main", lambda argv=None: seen.append("main"))
    runpy.run_path(serve.__file__, run_name="__main__")
    assert seen == ["main"]


def test_warm_up_computes_the_gaps_page_default_and_imports_the_pages_modules():
    """The warm-up's gaps query is the one the Regional gaps page opens with (level, time and
    unknown-hours policy), so the first map hits the api's cache; the pages' modules import
    without declaring a component (the page element is declared on first use)."""
    import subprocess

    from epu_mapper.levels import LEVELS
    from epu_mapper.ui.format import PRESETS
    from epu_mapper.ui.pages import gaps

    level, hour, policy = serve.DEFAULT_GAPS
    assert level == LEVELS[1]  # the page's Regions box opens at index 1
    assert hour == PRESETS[0].hour_of_week and not PRESETS[0].bank_holiday
    assert policy == next(iter(gaps.GAPS_POLICIES))
    code = ("import importlib, sys; from epu_mapper.ui import serve; "
            "[importlib.import_module(m) for m in serve.WARM_IMPORTS]; "
            "from epu_mapper.ui import page_element; "
            "print(sorted(m for m in ('epu_mapper.upkeep', 'epu_mapper.ui.common') "
            "if m in sys.modules), page_element._element.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.strip() == "['epu_mapper.ui.common', 'epu_mapper.upkeep'] 0"


def test_the_first_page_run_needs_no_analysis_stack():
    """What the Find page's first run imports (the menu, the light glue, the page itself) loads
    none of pandas, GeoPandas, folium, SQLAlchemy or the api: about 2.5 s of imports that
    would otherwise sit between a first visitor and the postcode box."""
    import subprocess

    heavy = ("pandas", "geopandas", "folium", "sqlalchemy", "pyarrow", "epu_mapper.api",
             "epu_mapper.ui.common", "epu_mapper.ui.find_results")
    code = ("import sys; from epu_mapper.ui import pages, shell; "
            "from epu_mapper.ui.pages import find; pages.page_specs(); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_the_warm_up_gaps_table_is_handed_out_once_for_the_same_context(monkeypatch):
    monkeypatch.setattr(serve, "_warm_tables", {})
    ctx, other = object(), object()
    serve._warm_tables[("nhs_region", 59, False, "range")] = (ctx, "table")
    assert serve.warm_gaps(ctx, "nhs_region", 59, False, "exclude") is None  # another query
    assert serve.warm_gaps(other, "nhs_region", 59, False, "range") is None  # another context
    serve._warm_tables[("nhs_region", 59, False, "range")] = (ctx, "table")
    assert serve.warm_gaps(ctx, "nhs_region", 59, False, "range") == "table"
    assert serve.warm_gaps(ctx, "nhs_region", 59, False, "range") is None  # once only


def test_the_component_scan_still_finds_every_package_named_streamlit(monkeypatch):
    """The narrowed scan keeps Streamlit's own candidates by name (this app's v2 component has
    no package manifest, so both scans find none) and reads no package summary to decide."""
    import importlib.metadata

    from streamlit.components.v2 import manifest_scanner as ms

    monkeypatch.setattr(ms, "_is_likely_streamlit_component_package",
                        ms._is_likely_streamlit_component_package)
    before = ms.scan_component_manifests()
    named = {d.name.lower() for d in importlib.metadata.distributions()
             if "streamlit" in d.name.lower()}
    assert serve.narrow_component_scan() is True
    kept = {d.name.lower() for d in importlib.metadata.distributions()
            if ms._is_likely_streamlit_component_package(d)}
    assert kept == named and "streamlit" in named
    assert ms.scan_component_manifests() == before == []


def test_the_scenario_warm_up_is_a_what_if_the_page_offers():
    """The warm-up's what-if uses the Scenarios page's own first choices (its first ranking
    hours, policy, level), so the tables it builds are the ones the page then reuses."""
    from epu_mapper.ui.format import LEVELS, POLICIES
    from epu_mapper.ui.pages import scenarios

    hours, policy, level, mode = serve.SCENARIO_WARM
    assert hours == next(iter(scenarios.RANK_HOURS.values()))
    assert policy == next(iter(POLICIES)) and level == next(iter(LEVELS)) and mode == "add"

