"""The Celery cluster fixture, for the contract suite's ``celery`` mode and tests/execution/test_celery.py."""

from __future__ import annotations

from tests.execution._celery_cluster import celery_cluster

__all__ = ["celery_cluster"]
