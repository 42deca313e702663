"""The engine: compile a flow to Dask graphs, run them, track states."""
