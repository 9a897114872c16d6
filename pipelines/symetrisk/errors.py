"""Errors the source raises on purpose, each with one sentence a person can act on. The CLI
prints their message and exits non-zero without a traceback; anything else is a bug."""

from __future__ import annotations


class SymetriskError(Exception):
    """Base of the errors whose message is meant for the person running the load."""


class SymetriskConfigError(SymetriskError):
    """A setting is wrong or missing; the message names the setting to check."""


class SymetriskApiError(SymetriskError):
    """The API answered in a way the load cannot go on from (after retries)."""
