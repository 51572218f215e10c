"""gunicorn.conf.py, as production's workers run it."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def test_a_started_worker_hides_its_start_up_objects_from_the_garbage_collector():
    """After start-up the worker freezes what it built, so no full collection walks it during a request."""
    settings = runpy.run_path(str(CONF))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
