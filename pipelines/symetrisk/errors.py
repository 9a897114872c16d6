"""Errors the source raises on purpose, each with one sentence a person can act on. The CLI
prints their message and exits non-zero without a traceback; anything else is a bug."""

from __future__ import annotations


class SymetriskError(Exception):
    """Base of the errors whose message is meant for the person running the load."""


class SymetriskConfigError(SymetriskError):
    """A setting is wrong or missing; the message names the setting to check."""


class SymetriskApiError(SymetriskError):
    """The API answered in a way the load cannot go on from (after retries)."""


class LimitExceeded(SymetriskApiError):
    """An answer of the API went past one of the limits that protect the machine from a
    hostile or broken API (response size, request deadline, pages of a list, new columns,
    nesting, token renewals); the message names the limit and its setting. Never retried."""


class Stopped(SymetriskError):
    """The run was asked to stop (Ctrl-C): in-flight requests are aborted with this."""
