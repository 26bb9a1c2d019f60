"""The ``osrm-http`` engine against a real ``osrm-routed`` (from the osrm-bindings wheel)
serving the Rutland graph on 127.0.0.1: the same numbers as the in-process engine, in
batches that respect the server's table size; clear errors (exit 2, no traceback) for a
dead server, a timeout, a refused table and a server that is not OSRM."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epu_mapper.cli import main
from epu_mapper.travel.calibrate import read_postcodes
from epu_mapper.travel.network import osrm_binary, prepare_network
from epu_mapper.travel.osrm import OsrmRouter
from epu_mapper.travel.osrm_http import HttpRouter, OsrmHttpError
from epu_mapper.travel.pairs import compute_osrm

pytestmark = [pytest.mark.osrm, pytest.mark.integration]

RUTLAND = "E06000017"
SERVER_MAX_TABLE = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def build_dir(real_settings, tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("osrm_http") / "build"
    prepare_network(real_settings.data_dir / "osm" / "rutland-latest.osm.pbf", build, name="rutland",
                    log=lambda s: None)
    return build


@pytest.fixture(scope="module")
def network(build_dir) -> Path:
    return build_dir / "osrm" / "rutland"


@pytest.fixture(scope="module")
def server(network, tmp_path_factory):
    """osrm-routed on the Rutland CH graph, 127.0.0.1, a free port; stopped by its PID."""
    port = _free_port()
    log = tmp_path_factory.mktemp("routed") / "osrm-routed.log"
    cmd = [str(osrm_binary("osrm-routed")), "--algorithm", "ch", "-i", "127.0.0.1", "-p", str(port),
           "--max-table-size", str(SERVER_MAX_TABLE), str(network / "graph.osrm")]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"osrm-routed exited: {log.read_text(errors='replace')}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "osrm-routed did not start within 60 s"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def places(real_settings) -> pd.DataFrame:
    """Real Rutland postcodes (Code-Point Open), a fixed sample."""
    pc = read_postcodes(real_settings.data_dir)
    pc = pc[pc["admin_district_code"] == RUTLAND].sort_values("postcode").reset_index(drop=True)
    return pc.sample(n=150, random_state=1).reset_index(drop=True)


def test_http_table_equals_in_process(server, network, places):
    local = OsrmRouter(network)
    http = HttpRouter(server, max_table_size=25, workers=2)
    o, d = places.iloc[:120], places.iloc[120:]
    args = (o["lat"].to_numpy(), o["lon"].to_numpy(), d["lat"].to_numpy(), d["lon"].to_numpy())
    want = local.table(*args)
    got = http.table(*args)
    assert got.minutes.shape == (120, 30)
    # the server rounds durations to 0.1 s and distances to 0.1 m in its JSON
    np.testing.assert_allclose(got.minutes, want.minutes, atol=0.1 / 60 + 1e-9)
    np.testing.assert_allclose(got.km, want.km, atol=0.0001 + 1e-9)
    np.testing.assert_allclose(got.origin_snap_m, want.origin_snap_m, atol=0.01)
    assert np.isfinite(got.minutes).mean() > 0.95
    assert http.requests_sent == 5 * 2  # 120 x 30 in blocks of at most 25 x 25


def test_http_matrix_equals_in_process_matrix(server, network, places):
    """The matrix layer's own routine (candidate mask, chunks, reasons) with either engine."""
    local = OsrmRouter(network)
    http = HttpRouter(server, max_table_size=SERVER_MAX_TABLE)
    o, d = places.iloc[:100], places.iloc[100:130]
    args = (o["lat"].to_numpy(), o["lon"].to_numpy(), d["lat"].to_numpy(), d["lon"].to_numpy())
    rng = np.random.default_rng(0)
    mask = rng.random((100, 30)) < 0.6
    want = compute_osrm(local, *args, mask, chunk=40)
    got = compute_osrm(http, *args, mask, chunk=40)
    np.testing.assert_array_equal(got.reason, want.reason)
    np.testing.assert_array_equal(np.isinf(got.minutes), ~mask)
    np.testing.assert_allclose(got.minutes, want.minutes, atol=0.1 / 60 + 1e-6)
    np.testing.assert_allclose(got.km, want.km, atol=0.0001 + 1e-6)


def test_build_matrix_through_the_server(server, build_dir, places, real_settings, tmp_path):
    """`travel build --engine osrm-http`: the same osrm matrix as from the built network."""
    import dataclasses

    from epu_mapper.travel.build import build_matrix

    demand = pd.DataFrame({"area_code": places["postcode"].iloc[:100].to_numpy(),
                           "lat": places["lat"].iloc[:100].to_numpy(),
                           "lon": places["lon"].iloc[:100].to_numpy()})
    units = pd.DataFrame({"unit_id": [f"U{i}" for i in range(12)], "mappable": True,
                          "lat": places["lat"].iloc[100:112].to_numpy(),
                          "lon": places["lon"].iloc[100:112].to_numpy()})
    local_settings = dataclasses.replace(real_settings, build_dir=build_dir)
    http_settings = dataclasses.replace(real_settings, build_dir=tmp_path / "build")
    kw = {"demand": demand, "units": units, "progress": False, "log": lambda s: None, "k": 6}
    local_path, _, _ = build_matrix(engine="osrm", settings=local_settings, network="rutland", **kw)
    http_path, http_prov, _ = build_matrix(settings=http_settings, router=HttpRouter(server), **kw)
    assert http_prov["engine"] == "osrm" and http_prov["network"]["url"] == server
    assert server in http_prov["caption"] and http_prov["covers_all"]
    a, b = pd.read_parquet(local_path), pd.read_parquet(http_path)
    assert len(a) == len(b) == 100 * 6
    merged = a.merge(b, on=["area_code", "unit_id"], suffixes=("_local", "_http"))
    assert len(merged) == len(a)
    np.testing.assert_allclose(merged["minutes_http"], merged["minutes_local"], atol=0.1 / 60 + 1e-5)
    np.testing.assert_allclose(merged["km_http"], merged["km_local"], atol=1e-4 + 1e-5)


def test_inside_by_snap_distance(server):
    http = HttpRouter(server)
    # Oakham (inside Rutland) and Cardiff (far outside the extract)
    inside = http.inside(np.array([52.6705, 51.4816]), np.array([-0.7309, -3.1791]))
    assert inside.tolist() == [True, False]


def test_pairs_cli_http_equals_built_network(server, build_dir, places, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build_dir))
    frame = pd.DataFrame({
        "pair": [f"p{i}" for i in range(60)],
        "origin_lat": places["lat"].iloc[:60].to_numpy(),
        "origin_lon": places["lon"].iloc[:60].to_numpy(),
        "destination_lat": places["lat"].iloc[60:120].to_numpy(),
        "destination_lon": places["lon"].iloc[60:120].to_numpy(),
    })
    frame.loc[len(frame)] = ["cardiff", 51.4816, -3.1791, 52.6705, -0.7309]
    src = tmp_path / "pairs.csv"
    frame.to_csv(src, index=False)
    local_out, http_out = tmp_path / "local.csv", tmp_path / "http.csv"
    assert main(["travel", "pairs", "--in", str(src), "--out", str(local_out), "--no-progress"]) == 0
    assert main(["travel", "pairs", "--in", str(src), "--out", str(http_out), "--engine", "osrm-http",
                 "--osrm-url", server, "--osrm-max-table", "40", "--no-progress"]) == 0
    local, http = pd.read_csv(local_out), pd.read_csv(http_out)
    assert (local["engine"].iloc[:60] == "osrm").all() and (http["engine"].iloc[:60] == "osrm-http").all()
    np.testing.assert_allclose(http["minutes"].iloc[:60], local["minutes"].iloc[:60], atol=0.011)
    np.testing.assert_allclose(http["km"].iloc[:60], local["km"].iloc[:60], atol=0.011)
    # Cardiff lies outside both networks: the estimate (auto) / no time with a reason (osrm-http)
    assert local["engine"].iloc[60] == "estimate" and local["minutes"].iloc[60] > 60
    assert np.isnan(http["minutes"].iloc[60]) and http["reason"].iloc[60] == "origin outside network"


def test_table_bigger_than_server_allows(server, places, capsys, tmp_path):
    http = HttpRouter(server, max_table_size=SERVER_MAX_TABLE + 50, retries=0)
    lat, lon = places["lat"].to_numpy(), places["lon"].to_numpy()
    lat, lon = np.tile(lat, 2)[:250], np.tile(lon, 2)[:250]  # 250 x 250 > the server's 200 x 200
    with pytest.raises(OsrmHttpError, match="--osrm-max-table"):
        http.table(lat, lon, lat, lon)


# ----------------------------------------------------------------- error handling (no osrm-routed)


class _Stub:
    """A local HTTP server answering with scripted (status, body) replies, then repeating the last."""

    def __init__(self, replies: list[tuple[int, str, str]]):
        self.replies, self.hits = list(replies), 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, ctype, body = stub.replies[min(stub.hits, len(stub.replies) - 1)]
                stub.hits += 1
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def stub():
    made: list[_Stub] = []

    def make(replies):
        made.append(_Stub(replies))
        return made[-1]

    yield make
    for s in made:
        s.stop()


def _ok_body(n_o: int, n_d: int) -> str:
    wp = {"distance": 3.0, "location": [0, 0], "name": ""}
    return json.dumps({"code": "Ok", "durations": [[60.0 * (i + j + 1) for j in range(n_d)] for i in range(n_o)],
                       "distances": [[1000.0] * n_d for _ in range(n_o)],
                       "sources": [wp] * n_o, "destinations": [wp] * n_d})


def test_retries_after_server_errors(stub):
    s = stub([(503, "text/plain", "busy"), (502, "text/plain", "bad gateway"),
              (200, "application/json", _ok_body(1, 2))])
    res = HttpRouter(s.url, retries=2).table(np.array([52.6]), np.array([-0.7]),
                                              np.array([52.5, 52.7]), np.array([-0.7, -0.6]))
    assert s.hits == 3
    np.testing.assert_allclose(res.minutes, [[1.0, 2.0]])
    np.testing.assert_allclose(res.km, [[1.0, 1.0]])


def test_not_an_osrm_server(stub, tmp_path, capsys):
    s = stub([(404, "text/html", "<html>not here</html>")])
    with pytest.raises(OsrmHttpError, match="did not answer like an OSRM server"):
        HttpRouter(s.url).table(np.array([52.6]), np.array([-0.7]), np.array([52.5]), np.array([-0.7]))
    src = tmp_path / "p.csv"
    src.write_text("origin_lat,origin_lon,destination_lat,destination_lon\n52.6,-0.7,52.5,-0.7\n",
                   encoding="utf-8")
    rc = main(["travel", "pairs", "--in", str(src), "--out", str(tmp_path / "o.csv"), "--engine",
               "osrm-http", "--osrm-url", s.url, "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "did not answer like an OSRM server" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_dead_server_and_timeout(tmp_path, capsys):
    port = _free_port()  # nothing listens there
    src = tmp_path / "p.csv"
    src.write_text("origin_lat,origin_lon,destination_lat,destination_lon\n52.6,-0.7,52.5,-0.7\n",
                   encoding="utf-8")
    rc = main(["travel", "pairs", "--in", str(src), "--out", str(tmp_path / "o.csv"), "--engine",
               "osrm-http", "--osrm-url", f"http://127.0.0.1:{port}", "--osrm-retries", "1",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot connect" in err and "after 2 tries" in err and "Traceback" not in err
    # a server that accepts the connection but never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(OsrmHttpError, match=r"no answer within 0.3 s \(after 2 tries\)"):
            HttpRouter(url, timeout=0.3, retries=1).inside(np.array([52.6]), np.array([-0.7]))
        assert time.monotonic() - t0 < 5


def test_bad_url_and_missing_url(tmp_path, capsys):
    src = tmp_path / "p.csv"
    src.write_text("origin_lat,origin_lon,destination_lat,destination_lon\n52.6,-0.7,52.5,-0.7\n",
                   encoding="utf-8")
    base = ["travel", "pairs", "--in", str(src), "--out", str(tmp_path / "o.csv"), "--no-progress"]
    assert main([*base, "--engine", "osrm-http"]) == 2
    assert "needs --osrm-url" in capsys.readouterr().err
    assert main([*base, "--engine", "osrm-http", "--osrm-url", "ftp://x"]) == 2
    assert "http:// or https://" in capsys.readouterr().err
    assert main([*base, "--engine", "estimate", "--osrm-url", "http://127.0.0.1:1"]) == 2
