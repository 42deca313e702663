"""``python -m prefect_dask.compat FILE [ARGS...]``: run a Prefect 1 program unchanged."""

import sys

from prefect_dask.compat import main

sys.exit(main())
