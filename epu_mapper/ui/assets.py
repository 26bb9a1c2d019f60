"""Local Leaflet assets so every map renders with no internet.

Folium's HTML points at CDN copies of Leaflet, jQuery, Bootstrap and plugins.
The app needs only Leaflet itself. It is fetched once, at install time, from the
npm registry (``make assets`` runs ``python -m epu_mapper.ui.assets``), checked
against the registry's published SHA-512 integrity, and unpacked into the
git-ignored ``static/vendor/`` folder beside ``app.py``. Streamlit serves that
folder at ``/app/static/...`` (``server.enableStaticServing`` in
``.streamlit/config.toml``); the app's page element (maps drawn in the page,
:mod:`epu_mapper.ui.page_element`) loads the scripts from there, on the same origin as the
app.

axe-core (the accessibility rules the browser test runs) is fetched the same way into
``static/vendor/axe-core-<version>/axe.min.js``; the app never loads it, the browser test
injects it from there.

No third-party JavaScript is committed to the repository.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from epu_mapper.errors import EpuMapperError
from epu_mapper.settings import REPO_ROOT

LEAFLET_VERSION = "1.9.4"
#: ``npm view leaflet@1.9.4 dist.integrity``
LEAFLET_INTEGRITY = (
    "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
)
LEAFLET_TARBALL = f"https://registry.npmjs.org/leaflet/-/leaflet-{LEAFLET_VERSION}.tgz"

AXE_VERSION = "4.14.1"
#: ``npm view axe-core@4.14.1 dist.integrity``
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)

#: Streamlit serves ``<folder of app.py>/static`` at ``/app/static``.
STATIC_DIR = REPO_ROOT / "static"
LEAFLET_DIR = STATIC_DIR / "vendor" / f"leaflet-{LEAFLET_VERSION}"
AXE_DIR = STATIC_DIR / "vendor" / f"axe-core-{AXE_VERSION}"
_NEEDED = ("leaflet.js", "leaflet.css", "images/layers.png", "images/marker-icon.png")


class AssetsMissingError(EpuMapperError):
    """The local Leaflet copy has not been fetched yet."""


def leaflet_present(leaflet_dir: Path = LEAFLET_DIR) -> bool:
    """True when every Leaflet file the maps need is on disk."""
    return all((leaflet_dir / name).is_file() for name in _NEEDED)


def static_url(base_url_path: str = "") -> str:
    """URL prefix of the Leaflet folder as served by Streamlit.

    Parameters
    ----------
    base_url_path
        Streamlit's ``server.baseUrlPath`` (empty when the app is served at ``/``).
    """
    base = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    return f"{base}/app/static/vendor/leaflet-{LEAFLET_VERSION}"


def leaflet_urls(base_url_path: str = "") -> tuple[str, str]:
    """``(script URL, stylesheet URL)`` of the local copy of Leaflet."""
    root = static_url(base_url_path)
    return f"{root}/leaflet.js", f"{root}/leaflet.css"


def leaflet_js_css(base_url_path: str = "") -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Folium ``default_js`` / ``default_css`` lists pointing at the local copy."""
    js, css = leaflet_urls(base_url_path)
    return [("leaflet", js)], [("leaflet_css", css)]


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _download_tarball(package: str = "leaflet", version: str = LEAFLET_VERSION) -> bytes:
    """An npm package tarball, via ``npm pack`` when npm exists, else plain HTTPS."""
    npm = shutil.which("npm")
    if npm:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                [npm, "pack", f"{package}@{version}", "--pack-destination", tmp],
                capture_output=True, text=True, timeout=180, check=False,
            )
            packed = list(Path(tmp).glob(f"{package}-*.tgz"))
            if done.returncode == 0 and packed:
                return packed[0].read_bytes()
    import requests

    url = f"https://registry.npmjs.org/{package}/-/{package}-{version}.tgz"
    try:
        response = requests.get(url, timeout=60)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise AssetsMissingError(
            f"could not fetch {package} {version} from the npm registry ({exc}); "
            "run `make assets` on a machine with registry access"
        ) from exc
    return response.content


def fetch_leaflet(leaflet_dir: Path = LEAFLET_DIR, tarball: bytes | None = None) -> Path:
    """Fetch, verify and unpack Leaflet's ``dist/`` folder into ``leaflet_dir``.

    Parameters
    ----------
    leaflet_dir
        Destination (git-ignored).
    tarball
        The package tarball bytes (tests pass one); downloaded when ``None``.

    Returns
    -------
    Path
        ``leaflet_dir``.
    """
    data = _download_tarball() if tarball is None else tarball
    return _unpack_verified(data, LEAFLET_INTEGRITY, "Leaflet", leaflet_dir, _leaflet_file)


def _leaflet_file(name: str) -> str | None:
    """Where a Leaflet tarball member goes in the destination (``None``: not kept)."""
    if name == "package/LICENSE":
        return "LICENSE"
    if not name.startswith("package/dist/"):
        return None
    rel = name.removeprefix("package/dist/")
    if rel.endswith(".map") or "esm" in rel or rel.startswith("leaflet-src"):
        return None
    return rel


def _unpack_verified(data: bytes, integrity: str, what: str, dest: Path,
                     pick: Callable[[str], str | None]) -> Path:
    """Check ``data`` against its npm SHA-512 ``integrity``, then unpack the files ``pick`` keeps.

    The files go to a temporary sibling folder that replaces ``dest`` only when complete; a
    member that would land outside it is skipped.
    """
    got = _integrity(data)
    if got != integrity:
        raise AssetsMissingError(f"{what} tarball integrity mismatch: expected {integrity}, got {got}")
    tmp_dir = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            rel = pick(member.name) if member.isfile() else None
            if rel is None:
                continue
            target = (tmp_dir / rel).resolve()
            if tmp_dir.resolve() not in target.parents:
                continue  # never write outside the destination
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = tar.extractfile(member)
            assert extracted is not None
            target.write_bytes(extracted.read())
    shutil.rmtree(dest, ignore_errors=True)
    tmp_dir.rename(dest)
    return dest


def ensure_leaflet(leaflet_dir: Path = LEAFLET_DIR) -> Path:
    """Fetch Leaflet when it is missing; a no-op otherwise."""
    if not leaflet_present(leaflet_dir):
        fetch_leaflet(leaflet_dir)
    return leaflet_dir


def axe_present(axe_dir: Path = AXE_DIR) -> bool:
    """True when the local axe-core copy exists."""
    return (axe_dir / "axe.min.js").is_file()


def fetch_axe(axe_dir: Path = AXE_DIR, tarball: bytes | None = None) -> Path:
    """Fetch, verify (SHA-512 integrity) and unpack ``axe.min.js`` and its licence.

    Parameters
    ----------
    axe_dir
        Destination (git-ignored).
    tarball
        The package tarball bytes (tests pass one); downloaded when ``None``.

    Returns
    -------
    Path
        ``axe_dir``.
    """
    data = _download_tarball("axe-core", AXE_VERSION) if tarball is None else tarball
    wanted = {"package/axe.min.js": "axe.min.js", "package/LICENSE": "LICENSE"}
    return _unpack_verified(data, AXE_INTEGRITY, "axe-core", axe_dir, wanted.get)


def main() -> int:
    """``python -m epu_mapper.ui.assets``.

    Make sure the local Leaflet and axe-core copies exist.
    """
    try:
        path = ensure_leaflet()
        axe = AXE_DIR if axe_present() else fetch_axe()
    except EpuMapperError as exc:
        print(f"epu-mapper: {exc}", file=sys.stderr)
        return 2
    print(f"Leaflet {LEAFLET_VERSION} ready in {path}; axe-core {AXE_VERSION} in {axe}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
