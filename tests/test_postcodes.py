"""Postcode normalisation, validation and lookup on the tiny fixture (offline).

The online fallback is tested against a local ``http.server`` stub on 127.0.0.1 — never
the internet.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from epu_mapper.build import build
from epu_mapper.cli import main
from epu_mapper.errors import BuildMissingError, PostcodeError
from epu_mapper.postcodes import (
    PostcodeIndex,
    district_of,
    normalise_postcode,
    sector_of,
    validate_postcode,
)
from epu_mapper.settings import get_settings


@pytest.fixture(scope="module")
def tiny_settings(tmp_path_factory, tiny_raw):
    build_dir = tmp_path_factory.mktemp("tiny_build")
    s = dataclasses.replace(get_settings(), data_dir=tiny_raw, build_dir=build_dir, online=False)
    build(s, only=["demand", "postcodes"], expected=None, quiet=True)
    return s


@pytest.fixture(scope="module")
def index(tiny_settings):
    return PostcodeIndex.load(tiny_settings)


# --- normalise / validate -------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("sw1a1aa", "SW1A 1AA"), ("  SW1A   1AA ", "SW1A 1AA"), ("Sw1A 1aA", "SW1A 1AA"),
    ("m11ae", "M1 1AE"), ("b33 8th", "B33 8TH"), ("ＳＷ１Ａ１ＡＡ", "SW1A 1AA"), ("", ""),
    ("ab", "AB"),
])
def test_normalise(raw, expected):
    assert normalise_postcode(raw) == expected


def test_normalise_non_string():
    assert normalise_postcode(None) == "" and normalise_postcode(123) == ""


def test_sector_and_district():
    assert sector_of("SW1A 1AA") == "SW1A 1" and district_of("SW1A 1AA") == "SW1A"
    assert sector_of("M1 1AE") == "M1 1" and district_of("M1 1AE") == "M1"


@pytest.mark.parametrize("pc", ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT",
                                "W1A 0AX", "EC1A 1BB", "BT1 1AA", "ZE1 0AA", "HS1 2XX"])
def test_valid_formats(pc):
    assert validate_postcode(pc) == pc


# --- 50+ odd inputs, each with a clear result -------------------------------------

UNIT, SECTOR, DISTRICT, NI = "unit", "sector", "district", "ni_sdz"
ODD_INPUTS = [
    ("ec1a 1aa", UNIT), ("EC1A1AA", UNIT), ("  EC1A   1AA  ", UNIT), ("ec1a\t1aa", UNIT),
    ("EC1A\n1AA", UNIT), ("Ec1A 1Aa", UNIT), ("ＥＣ１Ａ １ＡＡ", UNIT), ("EC1A\u00a01AA", UNIT),
    ("E C 1 A 1 A A", UNIT), ("EC1A 1AA\r\n", UNIT), ("EC1A 1AB", UNIT), ("CF10 1AA", UNIT),
    ("EH1 1AA", UNIT), ("eh11aa", UNIT),
    ("EC1A 1ZZ", SECTOR),          # exists but has no coordinates (pq 90)
    ("EC1A 1XY", SECTOR),          # terminated / unknown unit, known sector
    ("EC2A 9ZZ", DISTRICT),        # unknown sector, known district
    ("BT1 1AA", NI), ("bt11ab", NI), ("BT1 1XX", SECTOR),
    ("BT9 9ZZ", "was not found"), ("ZE1 0AA", "was not found"), ("W1A 0AX", "was not found"),
    ("GIR 0AA", "non-geographic"), ("gir0aa", "non-geographic"),
    ("BFPO 123", "British Forces Post Office"), ("bfpo123", "British Forces Post Office"),
    ("BFPO 1", "British Forces Post Office"), ("BF1 3AA", "British Forces Post Office"),
    ("JE2 3AB", "Jersey"), ("je23ab", "Jersey"), ("GY1 1AA", "Guernsey"),
    ("IM1 1AA", "Isle of Man"), ("im11aa", "Isle of Man"),
    ("ASCN 1ZZ", "Ascension"), ("FIQQ 1ZZ", "Falkland"), ("GX11 1AA", "Gibraltar"),
    ("", "please enter a postcode"), ("   ", "please enter a postcode"),
    (None, "please enter a postcode"), (12345, "please enter a postcode"),
    ("😀", "doesn't look like a UK postcode"), ("EC1A 1AA 😀", "doesn't look like a UK postcode"),
    ("x" * 10_000, "10,000 characters"), ("SW1A", "only the first half"),
    ("ec1a", "only the first half"), ("EC1A 1", "not a full postcode"),
    ("EC1A-1AA", "doesn't look like a UK postcode"), ("EC1A.1AA", "doesn't look like"),
    ("EC1A OAA", "did you mean EC1A 0AA"), ("EC1A 1AA1", "doesn't look like"),
    ("QC1A 1AA", "letters in places"), ("EC1A 1CA", "letters in places"),
    ("123 456", "doesn't look like"), ("HELLO", "doesn't look like"),
    ("DROP TABLE postcodes;", "letters and digits only"),
    ("<script>alert(1)</script>", "doesn't look like"), ("EC1A1AAEC1A1AA", "doesn't look like"),
    ("AA", "doesn't look like"), ("\x00EC1A 1AA", "letters and digits only"),
    ("KY1-1234", "doesn't look like"), ("SAN TA1", "doesn't look like"),
]


def test_at_least_fifty_odd_inputs():
    assert len(ODD_INPUTS) >= 50


@pytest.mark.parametrize(("text", "outcome"), ODD_INPUTS, ids=lambda v: repr(v)[:24])
def test_odd_input_has_a_clear_result(index, text, outcome):
    if outcome in (UNIT, SECTOR, DISTRICT, NI):
        r = index.lookup(text)
        assert r.precision == outcome
        assert -9 < r.lon < 2 and 49 < r.lat < 61
        assert r.area_code and r.regions["nation"]
        if outcome != UNIT:
            assert r.note  # approximate results always say why
    else:
        with pytest.raises(PostcodeError) as exc:
            index.lookup(text)
        assert outcome in str(exc.value)
        assert len(str(exc.value)) < 300  # never echoes 10 kB of junk back


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_gives_a_result_or_a_postcode_error(index, text):
    try:
        r = index.lookup(text)
    except PostcodeError as exc:
        message = str(exc)
        r = None
    if r is None:
        assert message
    else:
        assert r.precision in {"unit", "sector", "district", "ni_sdz"}


# --- lookups: what each result says ------------------------------------------------


def test_unit_result_fields(index):
    r = index.lookup("ec1a 1aa")
    d = r.to_dict()
    assert (d["postcode"], d["lat"], d["lon"], d["precision"]) == ("EC1A 1AA", 51.501, -0.101, "unit")
    assert d["area_code"] == "E01000001" and d["area_type"] == "LSOA21"
    assert d["area_method"] == "nearest_point_in_lad"
    assert d["regions"]["icb_code"] == "QMJ" and d["regions"]["nhs_region_code"] == "Y56"
    assert d["regions"]["lad_code"] == "E09000001"
    assert "lhb_code" not in d["regions"]  # levels that do not apply are left out
    assert d["nation"] == "England"
    json.dumps(d)


def test_area_is_nearest_point_inside_the_postcodes_own_lad(index):
    # EC1A 1AB is nearer E01000001's point but lies in LAD E09000002.
    assert index.lookup("EC1A 1AB").area_code == "E01000002"


def test_recoded_lad_placed_by_polygon(index):
    r = index.lookup("EC1A 1BB")
    assert r.regions["lad_code"] == "E09000002"


def test_sector_fallback_says_so(index):
    r = index.lookup("EC1A 1XY")
    assert r.matched == "EC1A 1" and (r.lat, r.lon) == (51.509, -0.078)
    assert "sector" in r.note and "terminated" in r.note


def test_pq90_postcode_explained(index):
    r = index.lookup("EC1A 1ZZ")
    assert r.precision == "sector" and "no coordinates" in r.note


def test_ni_postcode_uses_sdz_point(index):
    r = index.lookup("BT1 1AA")
    assert (r.lat, r.lon, r.area_code) == (54.6, -5.93, "N21000001")
    assert r.regions["hsct_code"] == "BHSCT" and r.area_type == "SDZ2021"


def test_not_found_mentions_online_is_off(index):
    with pytest.raises(PostcodeError, match="online lookup is off"):
        index.lookup("ZE1 0AA")


def test_missing_build_names_the_command(tmp_path):
    s = dataclasses.replace(get_settings(), build_dir=tmp_path)
    with pytest.raises(BuildMissingError, match="epu-mapper data build"):
        PostcodeIndex.load(s)


# --- CLI ----------------------------------------------------------------------------


def test_cli_json(tiny_settings, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tiny_settings.build_dir))
    monkeypatch.setenv("EPU_MAPPER_ONLINE", "0")
    assert main(["postcode", "ec1a1aa", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"postcode", "lat", "lon", "precision", "area_code", "regions"} <= set(d)
    assert d["postcode"] == "EC1A 1AA" and d["precision"] == "unit"


def test_cli_text_and_errors(tiny_settings, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tiny_settings.build_dir))
    monkeypatch.setenv("EPU_MAPPER_ONLINE", "0")
    assert main(["postcode", "BT1 1AA"]) == 0
    out = capsys.readouterr().out
    assert "ni_sdz" in out and "HSC trust (Northern Ireland): Belfest HSC Trust (BHSCT)" in out
    assert main(["postcode", "JE2 3AB"]) == 2
    err = capsys.readouterr().err
    assert "Jersey" in err and "Traceback" not in err


# --- online fallback against a local stub ---------------------------------------------


class _Stub(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        routes = {
            "/postcodes/EC1A1XY": (200, {"status": 200, "result": {
                "postcode": "EC1A 1XY", "latitude": 51.5201, "longitude": -0.0502,
                "codes": {"lsoa21": "E01000002", "admin_district": "E09000002"}}}),
            "/terminated_postcodes/EC1A1TT": (200, {"status": 200, "result": {
                "postcode": "EC1A 1TT", "latitude": 51.5011, "longitude": -0.1011}}),
            "/postcodes/EC1A1BD": (200, {"status": 200, "result": {"latitude": None}}),
        }
        status, body = routes.get(self.path, (404, {"status": 404, "error": "Postcode not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_url():
    _Stub.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def online_index(tiny_settings, stub_url):
    s = dataclasses.replace(tiny_settings, online=True, postcodes_io_url=stub_url,
                            http_timeout_s=0.3)
    return PostcodeIndex.load(s)


def test_online_live_postcode_and_cache(online_index):
    r = online_index.lookup("EC1A 1XY")
    assert r.precision == "online" and (r.lat, r.lon) == (51.5201, -0.0502)
    assert r.area_code == "E01000002" and r.area_method == "postcodes_io_lsoa"
    assert "postcodes.io" in r.note
    online_index.lookup("ec1a1xy")
    assert _Stub.hits == ["/postcodes/EC1A1XY"]  # second lookup served from the cache


def test_online_terminated_postcode(online_index):
    r = online_index.lookup("EC1A 1TT")
    assert r.precision == "online" and "terminated" in r.note
    assert r.area_code == "E01000001" and r.area_method == "nearest_point_any_lad"
    assert _Stub.hits == ["/postcodes/EC1A1TT", "/terminated_postcodes/EC1A1TT"]


def test_online_miss_and_bad_payload_fall_back_offline(online_index):
    assert online_index.lookup("EC1A 1QQ").precision == "sector"
    assert online_index.lookup("EC1A 1BD").precision == "sector"


def test_online_timeout_falls_back(online_index, monkeypatch):
    import requests

    asked: list[float] = []

    def timed_out(url, timeout):
        asked.append(timeout)
        raise requests.Timeout(f"{url} took longer than {timeout} s")

    monkeypatch.setattr(requests, "get", timed_out)
    r = online_index.lookup("EC1A 1SL")
    assert r.precision == "sector"  # the offline answer
    assert asked == [0.3]  # postcodes.io was asked once, with the configured timeout


def test_online_off_never_calls(tiny_settings, stub_url):
    s = dataclasses.replace(tiny_settings, online=False, postcodes_io_url=stub_url)
    assert PostcodeIndex.load(s).lookup("EC1A 1XY").precision == "sector"
    assert _Stub.hits == []


def test_offline_data_wins_over_online(online_index):
    assert online_index.lookup("EC1A 1AA").precision == "unit"
    assert _Stub.hits == []


def test_unreachable_server_falls_back(tiny_settings):
    s = dataclasses.replace(tiny_settings, online=True, postcodes_io_url="http://127.0.0.1:9",
                            http_timeout_s=0.3)
    assert PostcodeIndex.load(s).lookup("EC1A 1XY").precision == "sector"


def test_cached_index_is_reused_and_refreshed_after_rebuild(tiny_settings):
    import os

    from epu_mapper.postcodes import get_index, lookup_postcode

    first = get_index(tiny_settings)
    assert get_index(tiny_settings) is first
    assert lookup_postcode("ec1a 1aa", tiny_settings).precision == "unit"
    path = tiny_settings.build_dir / "postcodes.parquet"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert get_index(tiny_settings) is not first
