"""Local Leaflet assets: URLs, integrity check, safe unpacking."""

from __future__ import annotations

import io
import tarfile

import pytest

from epu_mapper.ui import assets


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_static_url():
    assert assets.static_url() == "/app/static/vendor/leaflet-1.9.4"
    assert assets.static_url("/x/") == "/x/app/static/vendor/leaflet-1.9.4"
    js, css = assets.leaflet_js_css()
    assert js[0][1].endswith("/leaflet.js") and css[0][1].endswith("/leaflet.css")


def test_tampered_tarball_is_refused(tmp_path):
    fake = _tarball({"package/dist/leaflet.js": b"alert('not leaflet')"})
    with pytest.raises(assets.AssetsMissingError, match="integrity"):
        assets.fetch_leaflet(tmp_path / "leaflet", tarball=fake)
    assert not (tmp_path / "leaflet").exists()


def test_unpack_keeps_only_dist(tmp_path, monkeypatch):
    fake = _tarball({
        "package/dist/leaflet.js": b"js", "package/dist/leaflet.css": b"css",
        "package/dist/images/layers.png": b"png", "package/dist/images/marker-icon.png": b"p",
        "package/dist/leaflet.js.map": b"map", "package/src/Leaflet.js": b"src",
        "package/LICENSE": b"BSD-2",
    })
    monkeypatch.setattr(assets, "LEAFLET_INTEGRITY", assets._integrity(fake))
    out = assets.fetch_leaflet(tmp_path / "leaflet", tarball=fake)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["LICENSE", "images/layers.png", "images/marker-icon.png", "leaflet.css",
                     "leaflet.js"]
    assert assets.leaflet_present(out)
    assert not assets.leaflet_present(tmp_path / "nowhere")
