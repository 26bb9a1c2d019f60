"""`travel network --download`: fetch an OpenStreetMap extract from a mirror, with resume
and the publisher's MD5, against a local HTTP server on 127.0.0.1 serving the real Rutland
extract (never the public provider)."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from epu_mapper.travel.download import (
    DEFAULT_MIRROR,
    DownloadError,
    download_extract,
    extract_url,
)

NAME = "europe/united-kingdom/england/rutland"


class Mirror:
    """A local extract mirror: serves ``root`` with Range support; can drop a transfer,
    ignore Range, or publish a wrong checksum. Records every request."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: int | None = None  # bytes sent before cutting the first transfer
        self.ignore_range = False
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                mirror.requests.append((self.path, rng))
                path = mirror.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if rng and not mirror.ignore_range:
                    start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mirror.drop_after is not None and path.suffix == ".pbf":
                    cut, mirror.drop_after = mirror.drop_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def pattern(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{name}}-latest.osm.pbf"

    def pbf_requests(self) -> list[str | None]:
        return [rng for path, rng in self.requests if path.endswith(".pbf")]


@pytest.fixture(scope="module")
def rutland(real_settings) -> Path:
    path = real_settings.data_dir / "osm" / "rutland-latest.osm.pbf"
    assert path.is_file(), f"missing {path}"
    return path


@pytest.fixture
def mirror(rutland, tmp_path):
    root = tmp_path / "mirror"
    target = root / f"{NAME}-latest.osm.pbf"
    target.parent.mkdir(parents=True)
    shutil.copyfile(rutland, target)
    md5 = hashlib.md5(target.read_bytes(), usedforsecurity=False).hexdigest()
    Path(f"{target}.md5").write_text(f"{md5}  {target.name}\n", encoding="ascii")
    server = Mirror(root)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


def test_default_url_pattern_and_names():
    assert extract_url("europe/great-britain") == (
        "https://download.geofabrik.de/europe/great-britain-latest.osm.pbf")
    assert DEFAULT_MIRROR.startswith("https://download.geofabrik.de/")
    assert extract_url("x/y", "http://m.example/osm/") == "http://m.example/osm/x/y-latest.osm.pbf"
    for bad in ("../etc/passwd", "Europe/GB", "", "a//b"):
        with pytest.raises(DownloadError):
            extract_url(bad)
    with pytest.raises(DownloadError):
        extract_url("x", "file:///tmp/{name}")


def test_download_checks_md5(mirror, rutland, tmp_path):
    out = download_extract(NAME, tmp_path / "dl", mirror=mirror.pattern, progress=False,
                           log=lambda s: None)
    assert out.name == "rutland-latest.osm.pbf"
    assert out.read_bytes() == rutland.read_bytes()
    assert mirror.pbf_requests() == [None]
    assert not list((tmp_path / "dl").glob("*.part"))
    # a second run finds it up to date: only the checksum is fetched
    download_extract(NAME, tmp_path / "dl", mirror=mirror.pattern, progress=False, log=lambda s: None)
    assert mirror.pbf_requests() == [None]


def test_resumes_a_partial_download(mirror, rutland, tmp_path):
    dest = tmp_path / "dl"
    dest.mkdir()
    data = rutland.read_bytes()
    (dest / "rutland-latest.osm.pbf.part").write_bytes(data[:600_000])
    out = download_extract(NAME, dest, mirror=mirror.pattern, progress=False, log=lambda s: None)
    assert out.read_bytes() == data
    assert mirror.pbf_requests() == ["bytes=600000-"]


def test_resumes_after_a_dropped_transfer(mirror, rutland, tmp_path):
    mirror.drop_after = 400_000
    lines: list[str] = []
    out = download_extract(NAME, tmp_path / "dl", mirror=mirror.pattern, progress=False,
                           log=lines.append)
    assert out.read_bytes() == rutland.read_bytes()
    ranges = mirror.pbf_requests()
    assert ranges[0] is None and len(ranges) == 2
    assert int(ranges[1].split("=")[1].rstrip("-")) >= 1  # resumed after what had arrived
    assert any("resum" in line for line in lines)


def test_server_that_ignores_range_restarts(mirror, rutland, tmp_path):
    mirror.ignore_range = True
    dest = tmp_path / "dl"
    dest.mkdir()
    (dest / "rutland-latest.osm.pbf.part").write_bytes(b"x" * 1000)  # not even the right bytes
    out = download_extract(NAME, dest, mirror=mirror.pattern, progress=False, log=lambda s: None)
    assert out.read_bytes() == rutland.read_bytes()


def test_bad_checksum_is_refused(mirror, tmp_path, capsys):
    md5 = mirror.root / f"{NAME}-latest.osm.pbf.md5"
    md5.write_text("0" * 32 + "  rutland-latest.osm.pbf\n", encoding="ascii")
    dest = tmp_path / "dl"
    with pytest.raises(DownloadError, match="does not match the publisher's checksum"):
        download_extract(NAME, dest, mirror=mirror.pattern, progress=False, log=lambda s: None)
    assert list(dest.iterdir()) == []  # neither the file nor the partial download is kept


def test_missing_extract_and_dead_mirror(mirror, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download_extract("europe/atlantis", tmp_path, mirror=mirror.pattern, progress=False,
                         log=lambda s: None)
    port = mirror.port
    mirror.server.shutdown()
    mirror.server.server_close()
    with pytest.raises(DownloadError, match="cannot connect"):
        download_extract(NAME, tmp_path, mirror=f"http://127.0.0.1:{port}/{{name}}.pbf",
                         progress=False, retries=1, timeout=2, log=lambda s: None)


# ----------------------------------------------------------------- the drivable-road filter


WAYS = {  # id: (tags, kept by the drivable filter)
    1: ({"highway": "primary"}, True),
    2: ({"highway": "residential"}, True),
    3: ({"highway": "footway"}, False),
    4: ({"highway": "path", "bicycle": "yes"}, False),
    5: ({"highway": "track"}, False),
    6: ({"highway": "track", "motor_vehicle": "yes"}, True),  # car.lua routes it (default speed)
    7: ({"highway": "track", "motor_vehicle": "private"}, False),
    8: ({"route": "ferry", "motor_vehicle": "yes"}, True),
    9: ({"highway": "steps"}, False),
    10: ({"building": "yes"}, False),
    11: ({"highway": "service", "service": "parking_aisle"}, True),
    12: ({"highway": "unclassified", "access:forward": "no", "motorcar:backward": "yes"}, True),
}


def _write_osm(path: Path) -> None:
    import osmium
    from osmium.osm.mutable import Node, Relation, Way

    with osmium.SimpleWriter(str(path)) as w:
        for i in range(1, 40):
            w.add_node(Node(id=i, location=(-0.7 + i * 0.001, 52.6), tags={}))
        w.add_node(Node(id=99, location=(-0.6, 52.7), tags={"amenity": "bench"}))  # used by no way
        for wid, (tags, _) in WAYS.items():
            w.add_way(Way(id=wid, nodes=[wid * 3 - 2, wid * 3 - 1, wid * 3], tags=tags))
        w.add_relation(Relation(id=1, members=[("w", 1, "from"), ("n", 3, "via"), ("w", 2, "to")],
                                tags={"type": "restriction", "restriction": "no_left_turn"}))
        w.add_relation(Relation(id=2, members=[("w", 3, "")], tags={"type": "route", "route": "foot"}))


def test_drivable_filter_rules(tmp_path):
    import osmium

    from epu_mapper.travel.roadfilter import filter_drivable

    src, dst = tmp_path / "in.osm.pbf", tmp_path / "out.osm.pbf"
    _write_osm(src)
    counts = filter_drivable(src, dst)
    kept_ways, nodes, relations = set(), set(), set()
    for obj in osmium.FileProcessor(str(dst)):
        if obj.is_way():
            kept_ways.add(obj.id)
        elif obj.is_node():
            nodes.add(obj.id)
        else:
            relations.add(obj.id)
    assert kept_ways == {wid for wid, (_, keep) in WAYS.items() if keep}
    assert nodes == {n for wid in kept_ways for n in (wid * 3 - 2, wid * 3 - 1, wid * 3)}
    assert relations == {1}
    assert counts["ways"] == len(kept_ways) and counts["ferries"] == 1 and counts["restrictions"] == 1
    assert counts["ways_dropped"] == 5  # footway, path, track, private track, steps


@pytest.mark.osrm
def test_network_download_builds_the_same_graph(mirror, rutland, tmp_path, monkeypatch, capsys):
    """`travel network --download` from the local mirror: a drivable-only graph that routes
    exactly like the graph of every highway way, built from the same file."""
    import json

    import numpy as np

    from epu_mapper.cli import main
    from epu_mapper.travel.network import prepare_network
    from epu_mapper.travel.osrm import OsrmRouter

    build = tmp_path / "build"
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    args = ["travel", "network", "--download", NAME, "--mirror", mirror.pattern, "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "drivable roads and ferries" in out
    net = build / "osrm" / "rutland-latest"
    meta = json.loads((net / "network.json").read_text(encoding="utf-8"))
    assert (build / "osm" / "rutland-latest.osm.pbf").read_bytes() == rutland.read_bytes()
    assert meta["road_filter"] == "drivable roads and ferries" and meta["ways_dropped_by_filter"] > 1000
    assert meta["steps"]["filter"]["peak_rss_mb"] > 0 and meta["steps"]["extract"]["peak_rss_mb"] > 0
    assert main(args) == 0  # again: the file and the graph are reused
    assert "up to date" in capsys.readouterr().out
    assert mirror.pbf_requests() == [None]

    every = prepare_network(rutland, tmp_path / "every", name="every", drivable_only=False,
                            log=lambda s: None)
    every_meta = json.loads((every / "network.json").read_text(encoding="utf-8"))
    assert every_meta["filtered_bytes"] > meta["filtered_bytes"]
    rng = np.random.default_rng(0)
    lat = 52.56 + rng.random(60) * 0.17
    lon = -0.78 + rng.random(60) * 0.3
    a = OsrmRouter(net).table(lat, lon, lat[:20], lon[:20])
    b = OsrmRouter(every).table(lat, lon, lat[:20], lon[:20])
    np.testing.assert_array_equal(a.minutes, b.minutes)
    np.testing.assert_array_equal(a.km, b.km)


def test_network_download_errors_exit_2(mirror, tmp_path, monkeypatch, capsys):
    from epu_mapper.cli import main

    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "build"))
    md5 = mirror.root / f"{NAME}-latest.osm.pbf.md5"
    md5.write_text("f" * 32 + "  rutland-latest.osm.pbf\n", encoding="ascii")
    assert main(["travel", "network", "--download", NAME, "--mirror", mirror.pattern,
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "does not match the publisher's checksum" in err and "Traceback" not in err
    assert not (tmp_path / "build" / "osrm").exists()
    assert main(["travel", "network", "--pbf", "x.pbf", "--mirror", mirror.pattern]) == 2
    assert "--mirror is for --download" in capsys.readouterr().err
