"""Helpers of the Skirmish Locust suite (`loadtest/locustfile.py`).

`slo` is plain Python (no gevent, no Locust) so the test suite can import it; the other
modules run inside Locust's gevent-patched process.
"""
