"""Helpers of the Skirmish Locust suite (`loadtest/locustfile.py`).

`slo`, `modes`, `options` and the bots (`bots`; `brain` for the arena, `ctf_brain`) are
plain Python (no gevent, no Locust) so the test suite can import them; `api`, `match`,
`frames` and `gates` run inside Locust's gevent-patched process.
"""
