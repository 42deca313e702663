"""Prefect 1's ``prefect.utilities`` places: helpers for writing tasks (``tasks``),
task loggers and log capture (``logging``), notification state handlers
(``notifications``) and ``debug``."""
