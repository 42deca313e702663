"""The user-facing commands and pages over the run history: the ``prefect-dask``
command (``cli``), benchmarks (``bench``), run summaries and HTML reports
(``report``), flow graphs (``visualize``) and the web UI (``ui``).

Nothing is imported here; ``import prefect_dask`` needs only ``bench.benchmark``.
"""
