"""Suite-wide: a test that hangs ends the run, named, within its timeout."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool:
    """pytest-timeout's timer, replaced: past the timeout (pyproject.toml) the run stops at
    once, naming the test and dumping every thread's stack. Its signal method raises inside
    the test instead, which an event loop stuck in teardown can swallow; its thread method
    stops the run but does not say which test it was."""

    def expire() -> None:
        capture = item.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(item)
        sys.stderr.write(f"\n+++ Timeout: {item.nodeid} ran past {settings.timeout:g} s +++\n")
        sys.stderr.flush()
        faulthandler.dump_traceback(sys.stderr, all_threads=True)
        sys.stderr.write(f"+++ Timeout: {item.nodeid} +++\n")
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(settings.timeout, expire)
    timer.name = f"timeout {item.nodeid}"
    timer.daemon = True
    timer.start()
    item.cancel_timeout = timer.cancel  # type: ignore[attr-defined]  # pytest-timeout calls it
    return True
