"""The ``deid`` console script.

Each subcommand lives in the module that owns it; a module registers its
subcommands through ``add_parsers(subparsers)`` and sets ``func`` on each.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that contribute subcommands. A module that is not there yet is skipped.
_COMMAND_MODULES = (
    "deid._cli_anonymize",  # anonymize, risk
    "deid.text.cli",  # scrub, eval-phi
    "deid._cli_cdw",  # cdw-generate
    "deid._cli_build",  # build (release build from a plan)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deid", description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from deid.errors import DeidError

    try:
        code = args.func(args)
    except DeidError as exc:
        print(f"deid {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
