"""Hypothesis profiles for the verification fuzzing (issue 17).

``edoc-ci`` (the default) is a short seeded round that runs in every ``pytest``
run and so in ``scripts/test``: the same examples every time. ``edoc-long`` is
for hunting: thousands of random examples per property. Choose with
``EDOC_FUZZ_PROFILE=edoc-long .venv/bin/python -m pytest tests/fuzz -q`` (or
``--hypothesis-profile=edoc-long``); ``EDOC_FUZZ_EXAMPLES=N`` changes its size.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]

settings.register_profile(
    "edoc-ci", max_examples=20, derandomize=True, deadline=None, suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "edoc-long", max_examples=int(os.environ.get("EDOC_FUZZ_EXAMPLES", "3000")), deadline=None,
    suppress_health_check=_QUIET, print_blob=True,
)
settings.load_profile(os.environ.get("EDOC_FUZZ_PROFILE", "edoc-ci"))
