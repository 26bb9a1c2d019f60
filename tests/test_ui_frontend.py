"""Streamlit's browser chunks fetched ahead: the first page's preload links, later pages' imports."""

from __future__ import annotations

from urllib.request import urlopen

from _app_server import app_server

from epu_mapper.ui import frontend


def test_frontend_chunks_by_name_without_their_hash(tmp_path):
    for name in ("ArrowVegaLiteChart.C1pLU68S.js", "Metric.MSVuxtnf.js", "index.DormvYxC.js",
                 "Metric.map", "Radio.BWQwdNIB.js.gz", "evil.<x>.js"):
        (tmp_path / name).write_text("")
    assert frontend.frontend_chunks(tmp_path, ("Metric", "ArrowVegaLiteChart", "DataFrame")) == [
        "Metric.MSVuxtnf.js", "ArrowVegaLiteChart.C1pLU68S.js"]  # wanted order; missing left out
    assert frontend.frontend_chunks(tmp_path / "missing") == []


def test_preload_request_holds_only_chunk_names():
    assert frontend.preload_request(["Metric.MSVuxtnf.js", "x.</script><b>.js", "../../etc.js",
                                     "DataFrame.a-b_c.js"]) == [
        "Metric.MSVuxtnf.js", "DataFrame.a-b_c.js"]


def test_the_preloader_imports_the_chunks_and_leaflet_once_the_page_is_idle():
    """The page element's preload branch (``static/page_element.js``): after the load event
    and the delay, when idle; next to the main module; once per page load."""
    from epu_mapper.ui import page_element

    js = page_element.ELEMENT_JS.read_text(encoding="utf-8")
    branch = js[js.index("function preload(request)"):js.index("export default function")]
    assert "window.__epuPreloaded" in branch
    assert "import(base + name)" in branch and "requestIdleCallback" in branch
    assert "setTimeout(idle, Number(request.delay_ms))" in branch
    assert "loadLeaflet(request.leaflet[0], request.leaflet[1])" in branch
    assert "if (data && data.preload)" in js
    assert frontend.PRELOAD_DELAY_MS == 3000  # after the first page's own chunks


def test_the_installed_streamlit_has_the_chunks_to_preload():
    """A Streamlit upgrade that renames its lazy chunks shows here, not as a silent slowdown."""
    found = frontend.frontend_chunks(frontend.JS_DIR)
    assert [f.split(".")[0] for f in found] == list(frontend.PRELOAD_CHUNKS)
    found = frontend.frontend_chunks(frontend.JS_DIR, frontend.FIRST_PAGE_CHUNKS)
    assert [f.split(".")[0] for f in found] == list(frontend.FIRST_PAGE_CHUNKS)


def test_chunk_closure_follows_static_imports_once(tmp_path):
    (tmp_path / "A.1.js").write_text('import{a as e}from"./B.2.js";import"./C.3.js";'
                                     'const x=()=>import("./Lazy.4.js");')
    (tmp_path / "B.2.js").write_text('import{t}from "./C.3.js";import{r}from"./A.1.js";')
    (tmp_path / "C.3.js").write_text("export const t=1;")
    assert frontend.chunk_closure(tmp_path, ["A.1.js"]) == ["A.1.js", "B.2.js", "C.3.js"]
    assert frontend.chunk_closure(tmp_path, ["Missing.9.js"]) == ["Missing.9.js"]


def test_the_first_page_closure_on_the_installed_streamlit():
    files = frontend.chunk_closure(
        frontend.JS_DIR, frontend.frontend_chunks(frontend.JS_DIR, frontend.FIRST_PAGE_CHUNKS))
    names = {f.split(".")[0] for f in files}
    assert {"TextInput", "TextField", "Radio", "Checkbox", "NumberInput", "Html"} <= names
    assert all((frontend.JS_DIR / f).is_file() for f in files)


def test_index_with_preloads_adds_only_new_chunk_links():
    html = ('<html><head><script type="module" src="./static/js/index.X1.js"></script>'
            "</head><body></body></html>")
    out = frontend.index_with_preloads(html, ["index.X1.js", "Radio.B2.js", "x\"><b>.js"])
    assert out.count('rel="modulepreload"') == 1
    assert '<link rel="modulepreload" crossorigin href="./static/js/Radio.B2.js"></head>' in out
    assert "<b>" not in out
    assert frontend.index_with_preloads("<p>no head</p>", ["Radio.B2.js"]) == "<p>no head</p>"


def test_the_launcher_serves_every_page_with_the_first_page_chunks_preloaded(tmp_path):
    """The real server (``python -m epu_mapper.ui.serve``): ``/`` and a page path answer with
    Streamlit's HTML plus the preload links; a chunk itself is served unchanged."""
    expected = frontend.chunk_closure(
        frontend.JS_DIR, frontend.frontend_chunks(frontend.JS_DIR, frontend.FIRST_PAGE_CHUNKS))
    with app_server({"EPU_MAPPER_BUILD": str(tmp_path / "no-build")},
                    "serve-index-preloads.log") as url:
        for path in ("/", "/gaps"):
            with urlopen(f"{url}{path}", timeout=10) as response:
                body = response.read().decode()
                assert response.headers["Content-Type"].startswith("text/html")
                assert response.headers["Cache-Control"] == "no-cache"
            for name in expected:
                assert f"/static/js/{name}" in body
            assert body.count("<title>") == 1
        chunk = expected[0]
        with urlopen(f"{url}/static/js/{chunk}", timeout=10) as response:
            assert response.read() == (frontend.JS_DIR / chunk).read_bytes()
