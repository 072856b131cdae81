"""The ``inferencesh app`` and ``inferencesh dev`` command groups (registered via entry points)."""

from __future__ import annotations

import argparse
from typing import Any

SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register_app(commands: Any) -> None:
    """Add ``inferencesh app ...``: scaffold, test, schema and serve apps."""
    parser: argparse.ArgumentParser = commands.add_parser("app", help="author and run apps locally")
    parser.add_subparsers(title="app commands", metavar="COMMAND")


def register_dev(commands: Any) -> None:
    """Add ``inferencesh dev``: the local platform."""
    commands.add_parser("dev", help="serve the inference.sh API locally over app directories")
