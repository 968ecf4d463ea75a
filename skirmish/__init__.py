"""Skirmish: an authoritative realtime multiplayer game backend."""

__version__ = "0.1.0"
