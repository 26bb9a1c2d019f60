"""``python -m epu_mapper``: the ``epu-mapper`` command."""

from epu_mapper.cli import main

raise SystemExit(main())
