"""Helpers for writing tasks (Prefect 1's ``prefect.utilities`` paths)."""
