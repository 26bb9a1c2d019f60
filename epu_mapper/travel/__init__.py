"""Travel times: one interface (:class:`TravelMatrix`, :func:`load_matrix`, :func:`from_point`),
two engines (``osrm`` on an OpenStreetMap road graph; ``estimate``, a calibrated
straight-line model). See docs/architecture.md for the contracts."""

from epu_mapper.travel.estimate import CALIBRATED, EstimateParams
from epu_mapper.travel.matrix import (
    ENGINES,
    REASONS,
    TravelMatrix,
    build_matrix,
    from_point,
    load_matrix,
)

__all__ = [
    "CALIBRATED",
    "ENGINES",
    "REASONS",
    "EstimateParams",
    "TravelMatrix",
    "build_matrix",
    "from_point",
    "load_matrix",
]
