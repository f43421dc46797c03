"""The modules both sides import: the Celery app (workers load it) and the task functions."""
