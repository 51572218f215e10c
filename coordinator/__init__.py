"""Circlekeeper: coordinating restorative justice circles for survivors of human trafficking.

Importing the package imports nothing else: the gunicorn master loads `coordinator.logs` for its logger class
and must stay small; the application itself is built by `coordinator.factory.create_app()` in each worker.
"""
