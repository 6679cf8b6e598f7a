"""Celery workers: reasoning fanned out over processes and machines, with Redis as broker and backend."""
