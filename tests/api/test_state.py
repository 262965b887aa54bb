"""What the app keeps for its requests: the frozen heap."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from api.app import create_app


def test_a_server_app_freezes_its_start_up_heap_and_a_test_app_does_not(api_home):
    gc.unfreeze()
    try:
        with TestClient(create_app(api_home.settings, home=api_home)) as plain:
            assert plain.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0
        with TestClient(create_app(api_home.settings, home=api_home, freeze_heap=True)) as served:
            assert served.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 0  # keys, fonts, templates: out of the collector's walk
    finally:
        gc.unfreeze()
