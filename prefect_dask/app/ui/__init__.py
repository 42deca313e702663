"""``prefect-dask ui``: a read-only web UI over the run records, live while runs go.

No server to install: the UI reads what runs write under ``PREFECT_DASK_HOME``
(``flow.run`` needs no UI running).  ``data`` builds the views, ``pages``
renders them, ``server`` answers HTTP; assets are in ``static/``.
"""

from .server import make_server, serve

__all__ = ["make_server", "serve"]
