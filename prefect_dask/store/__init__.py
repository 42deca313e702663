"""Persistence: run records (``records``), the SQLite history index over them
(``history``), the cache store (``caching``) and target templates (``targets``).

Nothing is imported here; the engine and the commands import the module they need.
"""
