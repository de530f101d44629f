"""Duress: an open-source staff-duress platform for hospitals."""

__version__ = "0.1.0"
