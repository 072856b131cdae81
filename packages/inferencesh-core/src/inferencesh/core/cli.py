"""The ``inferencesh`` command line.

Core owns the entry point; sibling distributions add command groups through the
``inferencesh.cli`` entry-point group. Each entry point names a callable that takes the
``argparse`` sub-parsers object and adds its commands, so a core-only install still has a
working CLI and core never imports its siblings.

A command's parser sets ``func`` (via ``set_defaults``) to a callable taking the parsed
namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from inferencesh.core._version import __version__

ENTRY_POINT_GROUP = "inferencesh.cli"

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every installed command group registered."""
    parser = argparse.ArgumentParser(
        prog="inferencesh",
        description="inference.sh: run AI apps, build agents and author apps.",
    )
    parser.add_argument("--version", action="version", version=f"inferencesh {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        register: Register = ep.load()
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[Any], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        if not parser._subparsers or not any(True for _ in entry_points(group=ENTRY_POINT_GROUP)):
            print(
                "\nNo command groups are installed. For `inferencesh app` and `inferencesh dev`,"
                " install them with: pip install inferencesh-apps",
                file=sys.stderr,
            )
        return 2
    return int(func(args) or 0)
