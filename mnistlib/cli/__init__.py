"""The ``mnistlib`` command: one subcommand per module in this package.

Every subcommand follows one pattern: a failure prints one line on stderr and exits 2
(no traceback); TensorFlow is imported only by the subcommands that need it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Subcommand name -> module in this package with ``register(subparsers)`` and ``run(args) -> int``.
SUBCOMMANDS = ("data", "train", "evaluate", "cv", "predict", "export")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mnistlib", description="MNIST digit classification: data, models, predictions.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"mnistlib.cli.{name}")
        command = module.register(sub)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnistlib`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("mnistlib: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the pattern: one line, exit 2, never a traceback
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"mnistlib {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
