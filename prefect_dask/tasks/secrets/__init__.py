"""Tasks that return secrets (Prefect 1's ``prefect.tasks.secrets``): never checkpointed,
never logged.  ``PrefectSecret`` reads local secrets (``prefect_dask.secrets``),
``EnvVarSecret`` an environment variable."""

from .base import PrefectSecret, SecretBase
from .env_var import EnvVarSecret

__all__ = ["SecretBase", "PrefectSecret", "EnvVarSecret"]
