"""Entry point for the `celery` command and Flower: `celery -A workers.main flower`.

Settings come from the environment here, as they would at any process start.
"""

from __future__ import annotations

from core.settings import Settings
from workers.app import create_app

app = create_app(Settings())
