"""The GitHub Action (and the composite action): ``main`` is the entry both call."""

from qsjwt.action.entry import main

__all__ = ["main"]
