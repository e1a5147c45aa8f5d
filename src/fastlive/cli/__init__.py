"""The ``fastlive`` command: one module per command, plus shared formatting."""

from fastlive.cli.main import main

__all__ = ["main"]
