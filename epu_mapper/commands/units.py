"""`epu-mapper` subcommands of the 'units' group (being written; see docs/architecture.md)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the parser."""
