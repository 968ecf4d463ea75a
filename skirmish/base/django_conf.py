"""Channels reads Django settings; Skirmish needs nothing else of Django (no apps, no DB)."""

from __future__ import annotations

from django.conf import settings


def configure_django() -> None:
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=[],
            # No layer yet: every match socket is served by the pod that hosts the match.
            CHANNEL_LAYERS={},
            USE_TZ=True,
        )
