"""What the figures rest on: :func:`provenance`, and the region boundaries."""

from __future__ import annotations

import time as _time

from epu_mapper import store
from epu_mapper.api.args import check_level
from epu_mapper.api.context import Context
from epu_mapper.settings import Settings, get_settings


def boundaries(level: str, settings: Settings | None = None) -> dict:
    """The simplified GeoJSON of a level (``build/boundaries/<level>.geojson``)."""
    settings = settings or get_settings()
    path = settings.build_dir / "boundaries" / f"{check_level(level)}.geojson"
    return store.read_json_file(path, f"The {level} boundaries", "epu-mapper data build")


def provenance(ctx: Context) -> dict:
    """What the figures rest on: build manifest, travel engine, weights and unit counts."""
    m = ctx.matrix
    kinds = ctx.demand.groupby("weight_kind")["weight"].agg(["count", "sum"])
    notes = ctx.demand.drop_duplicates("weight_kind").set_index("weight_kind").get("weight_note")
    return {
        "manifest": ctx.manifest,
        "engine": getattr(m, "engine", None),
        "approximate": bool(getattr(m, "approximate", False)),
        "typical_error_min": getattr(m, "typical_error_min", None),
        "travel_provenance": getattr(m, "provenance", {}),
        "weights": {
            k: {"areas": int(r["count"]), "weight": float(r["sum"]),
                "note": None if notes is None else str(notes.get(k, ""))}
            for k, r in kinds.iterrows()
        },
        "units": {
            "directory": len(ctx.units),
            "mapped": len(ctx.mapped),
            "unmapped": int(len(ctx.units) - len(ctx.mapped)),
            "hours_status": {str(k): int(v) for k, v in ctx.mapped["hours_status"].value_counts().items()},
        },
        "reach_minutes": ctx.reach_minutes,
        "generated": _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime()),
    }
