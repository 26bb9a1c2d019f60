"""The ``epu-mapper`` command: parses arguments, calls the core, prints.

Each group of subcommands lives in ``epu_mapper/commands/<group>.py`` and exposes
``register(subparsers)``; every registered parser sets ``func(args) -> int``.
User errors (:class:`~epu_mapper.errors.EpuMapperError`) print their message to
stderr and exit with status 2 — never a traceback; an unexpected error prints one
"internal error" line and exits 2 too (``EPU_MAPPER_DEBUG=1`` re-raises it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from epu_mapper import __version__
from epu_mapper.commands import corrections, coverage, data, equity, postcode, sites, travel, units
from epu_mapper.errors import EpuMapperError
from epu_mapper.inputs import one_line

COMMAND_GROUPS = (units, data, postcode, travel, coverage, sites, corrections, equity)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments already; keep its message short and clear."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``epu-mapper`` argument parser with every command group registered."""
    parser = _Parser(
        prog="epu-mapper",
        description="UK early pregnancy unit access: directory, hours, travel times, gaps.",
    )
    parser.add_argument("--version", action="version", version=f"epu-mapper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``epu-mapper`` command; returns the exit code (2 for a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except EpuMapperError as exc:
        print(f"epu-mapper: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("epu-mapper: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last resort: a message, never a traceback
        if os.environ.get("EPU_MAPPER_DEBUG"):
            raise
        print(f"epu-mapper: internal error ({type(exc).__name__}: {one_line(str(exc), 200)}); "
              "please report it with the command you ran (EPU_MAPPER_DEBUG=1 shows the details)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
