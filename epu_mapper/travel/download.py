"""Download an OpenStreetMap extract for ``epu-mapper travel network --download NAME``.

The extract comes from a mirror URL pattern, by default Geofabrik's
(``https://download.geofabrik.de/{name}-latest.osm.pbf``, the usual public provider
of country and county extracts, e.g. ``europe/great-britain`` or
``europe/united-kingdom/england/rutland``). Another mirror, or a local copy, is set by
``--mirror`` or the ``EPU_MAPPER_OSM_MIRROR`` environment variable.

* progress bar on stderr;
* resume: a partial ``<file>.part`` is continued with an HTTP ``Range`` request (a
  server that ignores it sends the whole file again, which is handled);
* checksum: the publisher's ``<url>.md5`` (``<hex>  <file name>``) is fetched first and the
  finished file must match it; a mismatch deletes the partial file and stops with a
  message (run again to download afresh).

The file is renamed into place only when complete and verified.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from epu_mapper.errors import EpuMapperError

#: Default mirror URL pattern; ``{name}`` is the region path.
DEFAULT_MIRROR = "https://download.geofabrik.de/{name}-latest.osm.pbf"
MIRROR_ENV = "EPU_MAPPER_OSM_MIRROR"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRIES = 3
CHUNK_BYTES = 1 << 20
#: Bytes per network read (what a dropped connection can lose before the resume).
READ_BYTES = 1 << 16

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-]*)*$")
_MD5 = re.compile(r"^\s*([0-9a-fA-F]{32})\b")


class DownloadError(EpuMapperError):
    """The extract cannot be downloaded or does not match its checksum."""


def extract_url(name: str, mirror: str | None = None) -> str:
    """The URL of extract ``name`` on a mirror.

    Parameters
    ----------
    name : str
        Region path on the mirror, lower case, e.g. ``europe/great-britain``.
    mirror : str, optional
        URL pattern with ``{name}`` (or a base URL, to which ``/{name}-latest.osm.pbf``
        is added). Default: ``$EPU_MAPPER_OSM_MIRROR``, else :data:`DEFAULT_MIRROR`.
    """
    if not _NAME.match(name or ""):
        raise DownloadError(f"extract name {name!r} should look like europe/great-britain "
                            "(lower-case region path on the mirror)")
    pattern = mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    if "{name}" not in pattern:
        pattern = pattern.rstrip("/") + "/{name}-latest.osm.pbf"
    url = pattern.replace("{name}", name)
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"the mirror must be an http:// or https:// URL (got {pattern!r})")
    return url


def file_md5(path: Path) -> str:
    """Hex MD5 of a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _get(session, url: str, timeout: float, retries: int, **kwargs):
    """GET with retries on connection errors, timeouts and 5xx; raises DownloadError."""
    import requests

    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
        try:
            resp = session.get(url, timeout=timeout, **kwargs)
        except requests.Timeout:
            last = f"no answer within {timeout:g} s"
            continue
        except requests.ConnectionError as exc:
            last = f"cannot connect ({type(exc).__name__})"
            continue
        if resp.status_code >= 500:
            resp.close()
            last = f"HTTP {resp.status_code}"
            continue
        return resp
    raise DownloadError(f"downloading {url} failed: {last} (after {retries + 1} tries)")


def fetch_md5(session, url: str, timeout: float = DEFAULT_TIMEOUT_S,
              retries: int = DEFAULT_RETRIES) -> str:
    """The publisher's checksum of ``url`` from ``url + '.md5'``."""
    resp = _get(session, url + ".md5", timeout, retries)
    if resp.status_code == 404:
        raise DownloadError(f"no checksum at {url}.md5 (HTTP 404): is the extract name right? "
                            "See the mirror's index for the region paths")
    if resp.status_code != 200:
        raise DownloadError(f"cannot fetch the checksum {url}.md5 (HTTP {resp.status_code})")
    found = _MD5.match(resp.text)
    if not found:
        raise DownloadError(f"{url}.md5 does not hold an MD5 checksum")
    return found.group(1).lower()


def download_extract(
    name: str,
    dest_dir: Path,
    mirror: str | None = None,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT_S,
    retries: int = DEFAULT_RETRIES,
    log=print,
) -> Path:
    """Download (or resume, or reuse) an extract and check it against the publisher's MD5.

    Parameters
    ----------
    name : str
        Region path, e.g. ``europe/great-britain`` (see :func:`extract_url`).
    dest_dir : Path
        Folder for ``<region>-latest.osm.pbf`` (and its ``.part`` while downloading).
    mirror : str, optional
        Mirror URL pattern (:func:`extract_url`).
    progress : bool
        Show a progress bar on stderr.
    timeout : float
        Seconds to wait for the server (connect and each read).
    retries : int
        Further tries after a failed request; a dropped transfer resumes where it stopped.
    log : callable
        Receives progress lines.

    Returns
    -------
    Path
        The verified extract. A file already there is reused when its MD5 matches.
    """
    import requests

    url = extract_url(name, mirror)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / Path(urlsplit(url).path).name
    part = final.with_name(final.name + ".part")
    with requests.Session() as session:
        expected = fetch_md5(session, url, timeout, retries)
        if final.is_file():
            if file_md5(final) == expected:
                log(f"{final.name} is up to date (MD5 {expected})")
                return final
            log(f"{final.name} differs from the published checksum: downloading again")
        for attempt in range(retries + 1):
            try:
                _transfer(session, url, part, timeout, retries, progress, log)
                break
            except _Dropped as exc:
                if attempt == retries:
                    raise DownloadError(f"downloading {url} kept failing ({exc}); run the same "
                                        "command again to resume") from exc
                log(f"transfer interrupted ({exc}); resuming")
    got = file_md5(part)
    if got != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{final.name} does not match the publisher's checksum (MD5 {got}, "
                            f"expected {expected} from {url}.md5); the partial file was removed. "
                            "Run the command again to download it afresh")
    os.replace(part, final)
    log(f"downloaded {final} ({final.stat().st_size / 1e6:.1f} MB, MD5 {expected})")
    return final


class _Dropped(Exception):
    """A transfer that stopped part-way (resumable)."""


def _transfer(session, url: str, part: Path, timeout: float, retries: int, progress: bool,
              log) -> None:
    """Append the rest of ``url`` to ``part`` (Range from its size)."""
    import requests
    from tqdm import tqdm

    have = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    resp = _get(session, url, timeout, retries, headers=headers, stream=True)
    with resp:
        if resp.status_code == 416:  # nothing left to send: the part is complete (checked next)
            return
        if resp.status_code == 404:
            raise DownloadError(f"{url} not found (HTTP 404): is the extract name right?")
        if resp.status_code not in (200, 206):
            raise DownloadError(f"downloading {url} failed: HTTP {resp.status_code}")
        if resp.status_code == 200 and have:
            log("the server does not resume downloads: starting again from the beginning")
            have = 0
        elif have:
            log(f"resuming {part.name} at {have / 1e6:.1f} MB")
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        mode = "ab" if have else "wb"
        bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=part.name[:-5],
                   disable=not progress, file=sys.stderr, leave=False)
        try:
            with open(part, mode) as fh:
                for block in resp.iter_content(READ_BYTES):
                    fh.write(block)
                    bar.update(len(block))
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise _Dropped(type(exc).__name__) from exc
        finally:
            bar.close()
    if total is not None and part.stat().st_size < total:
        raise _Dropped(f"got {part.stat().st_size:,} of {total:,} bytes")
