"""Travel times.

One interface (:class:`TravelMatrix`, :func:`load_matrix`, :func:`from_point`), two engines
(``osrm`` on an OpenStreetMap road graph; ``estimate``, a calibrated straight-line model). See
docs/architecture.md for the contracts.

Modules: ``pairs`` (the pure core: pairs by either engine, long and dense forms), ``store`` (paths,
fingerprints, the dense load cache), ``build`` (:func:`build_matrix`), ``load``
(:func:`load_matrix`), ``point`` (:func:`from_point`), ``osrm`` (querying a road graph),
``network`` (building one), ``candidates``, ``estimate``, ``calibrate``.
"""

from epu_mapper.travel.build import build_matrix
from epu_mapper.travel.estimate import CALIBRATED, EstimateParams
from epu_mapper.travel.load import TravelMatrix, load_matrix
from epu_mapper.travel.pairs import ENGINES, REASONS
from epu_mapper.travel.point import from_point

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
