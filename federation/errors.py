"""Exceptions shared across the federation layer."""


class Ignore(Exception):
    """An activity that is authentic but that we do not act on; the reason is kept."""
