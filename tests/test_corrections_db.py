"""Corrections end to end on SQLite and on a real PostgreSQL server: submit -> list -> accept ->
`units validate`, reject, the audit trail, concurrent accepts, hostile submissions, migrations."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from epu_mapper import cli, db, upkeep
from epu_mapper.corrections import SubmissionError
from epu_mapper.importer import read_directory

REPO_UNITS = Path(__file__).resolve().parent.parent / "data" / "units.csv"
NEW_HOURS = "Mo-Fr 08:00-18:00; Sa 09:00-12:00; Su off; PH off"


@pytest.fixture
def units(tmp_path) -> Path:
    """A copy of the real directory to change."""
    path = tmp_path / "units.csv"
    shutil.copyfile(REPO_UNITS, path)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _unit(units: Path, uid: str) -> dict[str, str]:
    return read_directory(units).set_index("unit_id").loc[uid].to_dict()


def _submit(db_url: str, units: Path, uid: str, hours: str, url: str = "https://www.example.nhs.uk/epu") -> int:
    return upkeep.submit({"unit_id": uid, "opening_hours": hours, "source_url": url, "relation": "staff"},
                         url=db_url, units=units)


def test_submit_list_accept_validate(db_url, units, capsys):
    before = _unit(units, "RCX70")
    rc, out, err = _run(capsys, "corrections", "submit", "--unit", "RCX70", "--opening-hours", NEW_HOURS,
                        "--source-url", "https://www.qehkl.nhs.uk/early-pregnancy-unit", "--relation", "staff",
                        "--note", "Saturday clinic started in November", "--units", str(units),
                        "--db", db_url, "--json")
    assert rc == 0, err
    stored = json.loads(out)
    cid = stored["id"]
    assert stored["status"] == "pending" and stored["fields"] == {"opening_hours": NEW_HOURS}
    assert stored["base"] == {"opening_hours": before["opening_hours"]}
    assert _unit(units, "RCX70") == before  # never changes the live directory until reviewed

    rc, out, _ = _run(capsys, "corrections", "list", "--status", "pending", "--json", "--db", db_url)
    listed = json.loads(out)
    assert rc == 0 and [r["id"] for r in listed] == [cid] and listed[0]["unit_id"] == "RCX70"
    rc, out, _ = _run(capsys, "corrections", "show", str(cid), "--db", db_url)
    assert rc == 0 and NEW_HOURS in out and "Saturday clinic" in out

    rc, out, err = _run(capsys, "corrections", "accept", str(cid), "--reviewer", "Ann Example",
                        "--units", str(units), "--db", db_url, "--json")
    assert rc == 0, err
    assert json.loads(out)["status"] == "accepted" and json.loads(out)["reviewer"] == "Ann Example"
    after = _unit(units, "RCX70")
    assert after["opening_hours"] == NEW_HOURS and after["hours_status"] == "verified"
    assert after["source_url"] == "https://www.qehkl.nhs.uk/early-pregnancy-unit"
    assert after["source_seen"] == datetime.now(UTC).date().isoformat()
    assert {k: v for k, v in after.items() if k not in ("opening_hours", "source_url", "source_seen")} == {
        k: v for k, v in before.items() if k not in ("opening_hours", "source_url", "source_seen")}
    rc, out, err = _run(capsys, "units", "validate", str(units))
    assert rc == 0 and "OK, 94 units" in out, err

    trail = db.audit_trail(db.get_engine(db_url), "RCX70")
    assert len(trail) == 1 and trail[0]["action"] == "accept" and trail[0]["reviewer"] == "Ann Example"
    assert trail[0]["before"]["opening_hours"] == before["opening_hours"]
    assert trail[0]["after"]["opening_hours"] == NEW_HOURS
    assert trail[0]["source_url"] == after["source_url"] and trail[0]["source_seen"] == after["source_seen"]
    # deciding twice is refused clearly
    rc, _, err = _run(capsys, "corrections", "accept", str(cid), "--reviewer", "Bo", "--units", str(units),
                      "--db", db_url)
    assert rc == 2 and "already accepted by Ann Example" in err and "Traceback" not in err


def test_reject_leaves_the_directory_untouched(db_url, units, capsys):
    cid = _submit(db_url, units, "RTK01", "Mo-Fr 09:00-16:00; Sa,Su off; PH off")
    text = units.read_bytes()
    rc, out, err = _run(capsys, "corrections", "reject", str(cid), "--reviewer", "Ann", "--reason",
                        "the trust page still says 09:00-15:00", "--db", db_url, "--json")
    assert rc == 0, err
    rec = json.loads(out)
    assert rec["status"] == "rejected" and rec["reason"].startswith("the trust page")
    assert units.read_bytes() == text
    trail = db.audit_trail(db.get_engine(db_url))
    assert [(t["action"], t["correction_id"], t["before"]) for t in trail] == [("reject", cid, None)]
    rc, _, err = _run(capsys, "corrections", "accept", str(cid), "--reviewer", "Bo", "--units", str(units),
                      "--db", db_url)
    assert rc == 2 and "already rejected" in err
    assert units.read_bytes() == text


def _concurrently(*calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the outcome is what is asserted
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_accepts_of_different_units_both_land(db_url, units):
    a = _submit(db_url, units, "RCX70", NEW_HOURS)
    b = _submit(db_url, units, "RTK01", "Mo-Fr 09:00-16:00; Sa,Su off; PH off")
    results = _concurrently(lambda: upkeep.accept(a, "Ann", url=db_url, units=units),
                            lambda: upkeep.accept(b, "Bo", url=db_url, units=units))
    assert [r["status"] for r in results] == ["accepted", "accepted"], results
    assert _unit(units, "RCX70")["opening_hours"] == NEW_HOURS
    assert _unit(units, "RTK01")["opening_hours"] == "Mo-Fr 09:00-16:00; Sa,Su off; PH off"
    assert cli.main(["units", "validate", str(units)]) == 0


def test_concurrent_accepts_of_the_same_unit_one_wins(db_url, units):
    a = _submit(db_url, units, "RCX70", NEW_HOURS)
    b = _submit(db_url, units, "RCX70", "Mo-Fr 07:00-19:00; Sa,Su off; PH off")
    results = _concurrently(lambda: upkeep.accept(a, "Ann", url=db_url, units=units),
                            lambda: upkeep.accept(b, "Bo", url=db_url, units=units))
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, db.ReviewConflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "refused: unit RCX70" in str(lost[0]) and "changed" in str(lost[0])
    winner = won[0]
    assert _unit(units, "RCX70")["opening_hours"] == winner["fields"]["opening_hours"]
    loser = b if winner["id"] == a else a
    assert db.get_correction(db.get_engine(db_url), loser)["status"] == "pending"
    assert len(db.audit_trail(db.get_engine(db_url), "RCX70")) == 1


def test_two_replicas_accepting_the_same_unit_one_wins(db_url, tmp_path, units):
    """Two app replicas (own directory copies, so no shared file lock) and one database:
    the database's compare-and-set on the unit's version lets only one accept land."""
    other = tmp_path / "replica2" / "units.csv"
    other.parent.mkdir()
    shutil.copyfile(units, other)
    a = _submit(db_url, units, "RCX70", NEW_HOURS)
    b = _submit(db_url, units, "RCX70", "Mo-Fr 07:00-19:00; Sa,Su off; PH off")
    results = _concurrently(lambda: upkeep.accept(a, "Ann", url=db_url, units=units),
                            lambda: upkeep.accept(b, "Bo", url=db_url, units=other))
    assert sum(isinstance(r, dict) for r in results) == 1, results
    assert sum(isinstance(r, db.ReviewConflict) for r in results) == 1, results
    statuses = sorted(c["status"] for c in db.list_corrections(db.get_engine(db_url)))
    assert statuses == ["accepted", "pending"]


def test_later_correction_of_a_changed_unit_is_refused_then_resubmitted(db_url, units):
    a = _submit(db_url, units, "RCX70", NEW_HOURS)
    b = _submit(db_url, units, "RCX70", "Mo-Fr 07:00-19:00; Sa,Su off; PH off")
    upkeep.accept(a, "Ann", url=db_url, units=units)
    with pytest.raises(db.ReviewConflict, match=f"changed by correction #{a}"):
        upkeep.accept(b, "Ann", url=db_url, units=units)
    c = _submit(db_url, units, "RCX70", "Mo-Fr 07:00-19:00; Sa,Su off; PH off")
    assert upkeep.accept(c, "Ann", url=db_url, units=units)["status"] == "accepted"
    assert _unit(units, "RCX70")["opening_hours"] == "Mo-Fr 07:00-19:00; Sa,Su off; PH off"


HOSTILE = {
    "html": ({"note": "<script>alert(1)</script>"}, "note", "HTML"),
    "formula_note": ({"note": '=HYPERLINK("http://evil.example","click")'}, "note", "formula"),
    "formula_phone": ({"phone": '=HYPERLINK("http://evil.example")'}, "phone", "not a phone number"),
    "huge": ({"note": "x" * 50_000}, "note", "the limit is"),
    "bad_hours": ({"opening_hours": "9am till late"}, "opening_hours", "not a valid"),
    "html_hours": ({"opening_hours": "<b>Mo-Fr 09:00-17:00</b>"}, "opening_hours", "not a valid"),
    "ftp_url": ({"source_url": "ftp://example.org/epu"}, "source_url", "http(s)"),
    "js_url": ({"source_url": "javascript:alert(1)"}, "source_url", "http(s)"),
    "bad_weeks": ({"min_weeks": "30", "max_weeks": "10"}, "min_weeks", "greater than"),
    "control": ({"note": "fine\x00then"}, "note", "control characters"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_submissions_are_refused_and_stored_nowhere(db_url, units, case, capsys):
    extra, field, words = HOSTILE[case]
    form = {"unit_id": "RCX70", "phone": "01553 613500", "source_url": "https://www.example.nhs.uk/epu",
            "relation": "patient", **extra}
    text = units.read_bytes()
    with pytest.raises(SubmissionError) as exc:
        upkeep.submit(form, url=db_url, units=units)
    assert any(f == field and words in m for f, m in exc.value.problems), exc.value.problems
    assert db.list_corrections(db.get_engine(db_url)) == []
    assert units.read_bytes() == text
    argv = ["corrections", "submit", "--unit", "RCX70", "--source-url", form["source_url"], "--db", db_url,
            "--units", str(units)]
    for key in ("phone", "opening_hours", "note", "min_weeks", "max_weeks"):
        if key in form:
            argv += [f"--{key.replace('_', '-')}", form[key]]
    if "\x00" not in form.get("note", ""):  # argv cannot carry NUL bytes
        rc, _, err = _run(capsys, *argv)
        assert rc == 2 and field in err and "Traceback" not in err
    assert db.list_corrections(db.get_engine(db_url)) == []


def test_rate_limit_per_client(db_url, units):
    key = upkeep.client_key("203.0.113.7")
    for i in range(upkeep.CLIENT_LIMIT_PER_HOUR):
        upkeep.submit({"unit_id": "RCX70", "phone": f"01553 61{i:04d}", "source_url": "https://a.nhs.uk/x",
                       "relation": "staff"}, url=db_url, units=units, client=key)
    with pytest.raises(upkeep.RateLimited):
        upkeep.submit({"unit_id": "RCX70", "phone": "01553 619999", "source_url": "https://a.nhs.uk/x",
                       "relation": "staff"}, url=db_url, units=units, client=key)
    other = upkeep.client_key("203.0.113.8")
    assert upkeep.submit({"unit_id": "RCX70", "phone": "01553 619999", "source_url": "https://a.nhs.uk/x",
                          "relation": "staff"}, url=db_url, units=units, client=other) > 0
    assert "203.0.113" not in json.dumps([c for c in db.list_corrections(db.get_engine(db_url))], default=str)


def test_new_unit_report_is_stored_but_never_accepted_into_the_directory(db_url, units):
    cid = upkeep.submit({"kind": "new_unit", "unit_name": "Early Pregnancy Assessment Unit",
                         "hospital": "A Hospital We Do Not List", "town": "Somewhere", "postcode": "PE30 4ET",
                         "relation": "charity", "source_url": "https://www.example.nhs.uk/epau"},
                        url=db_url, units=units)
    text = units.read_bytes()
    with pytest.raises(db.ReviewConflict, match="a unit we do not list"):
        upkeep.accept(cid, "Ann", url=db_url, units=units)
    assert units.read_bytes() == text
    assert db.get_correction(db.get_engine(db_url), cid)["status"] == "pending"


def test_closure_removes_the_row_and_the_audit_keeps_it(db_url, units):
    cid = upkeep.submit({"unit_id": "RTK01", "closed": True, "source_url": "https://a.nhs.uk/closed",
                         "relation": "website"}, url=db_url, units=units)
    upkeep.accept(cid, "Ann", url=db_url, units=units)
    assert "RTK01" not in read_directory(units)["unit_id"].tolist()
    trail = db.audit_trail(db.get_engine(db_url), "RTK01")
    assert trail[0]["after"] is None and trail[0]["before"]["unit_id"] == "RTK01"
    assert cli.main(["units", "validate", str(units)]) == 0


def test_schema_is_migrated_by_alembic(db_url):
    engine = db.get_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert set(sa.inspect(engine).get_table_names()) >= {"corrections", "unit_versions", "audit"}
    db.migrate(engine)  # idempotent


def test_unreachable_database_is_a_clear_error(capsys, tmp_path):
    rc, _, err = _run(capsys, "corrections", "list", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert rc == 2 and "cannot use the database" in err and "Traceback" not in err
    rc, _, err = _run(capsys, "corrections", "list", "--db", "mysql://x@y/z")
    assert rc == 2 and "only SQLite and PostgreSQL" in err
    rc, _, err = _run(capsys, "corrections", "show", "7", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}")
    assert rc == 2 and "no correction #7" in err
