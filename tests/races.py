"""The harness of the parallel-guess tests: many fresh interpreters, each importing the app, released at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

STARTUP_SECONDS = 900  # twenty interpreters importing the app on a busy two-core machine take minutes


def answers_at_once(target: Callable, args: tuple, count: int) -> list:
    """Run `target(*args, barrier, results)` in `count` spawned processes; each waits at the barrier, then puts one
    answer on `results`. Returns the answers, in the order they came."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    processes = [context.Process(target=target, args=(*args, barrier, results)) for _ in range(count)]
    for process in processes:
        process.start()
    answers = [results.get(timeout=STARTUP_SECONDS + 120) for _ in processes]
    for process in processes:
        process.join(30)
    return answers
