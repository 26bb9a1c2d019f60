"""The region levels have one source (:mod:`epu_mapper.levels`) that every layer uses."""

from __future__ import annotations

import pytest

from epu_mapper import api, geography, levels, postcodes
from epu_mapper.ui import format as fmt


def test_every_layer_takes_the_one_list():
    assert api.LEVELS is levels.LEVELS
    assert geography.LEVELS is levels.LEVELS
    assert fmt.LEVELS is levels.LEVEL_LABELS
    assert postcodes._REGION_FIELDS is levels.REGION_FIELDS
    assert ["area_code", *levels.REGION_FIELDS] == geography.REGION_COLUMNS


def test_labels_and_nations_cover_exactly_the_levels():
    assert list(levels.LEVEL_LABELS) == list(levels.LEVELS)
    for nation, own in levels.LEVELS_BY_NATION.items():
        assert own[0] == "nation" and own[-1] == "lad", nation
        assert set(own) <= set(levels.LEVELS)
    used = {lvl for own in levels.LEVELS_BY_NATION.values() for lvl in own}
    assert used == set(levels.LEVELS)  # every level applies somewhere


def test_region_columns():
    assert levels.region_columns("nation") == ("nation", "nation")
    assert levels.region_columns("scot_hb") == ("scot_hb_code", "scot_hb_name")
    assert levels.REGION_FIELDS[:3] == ("nation", "nhs_region_code", "nhs_region_name")
    with pytest.raises(ValueError, match="unknown region level 'ward'"):
        levels.region_columns("ward")


def test_cli_level_choices_are_the_levels(capsys):
    from epu_mapper.cli import main

    with pytest.raises(SystemExit):
        main(["gaps", "--level", "ward"])
    err = capsys.readouterr().err
    assert "choose from " + ", ".join(repr(x) for x in levels.LEVELS) in err.replace("\n", " ") or \
        all(lvl in err for lvl in levels.LEVELS)
