"""What the app keeps for its requests: where registry reads run, and the frozen heap."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import threading

from fastapi.testclient import TestClient

from api.app import create_app


def test_sqlite_reads_run_on_the_event_loop_and_network_ones_in_a_thread(app):
    state = app.state.edoc
    assert state.settings.effective_database_url.startswith("sqlite")
    here = threading.get_ident()
    assert asyncio.run(state.read(threading.get_ident)) == here
    remote = dataclasses.replace(
        state, settings=state.settings.model_copy(update={"database_url": "postgresql://db.example/edoc"})
    )
    assert asyncio.run(remote.read(threading.get_ident)) != here


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
