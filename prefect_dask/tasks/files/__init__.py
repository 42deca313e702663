"""Tasks for files (Prefect 1's ``prefect.tasks.files``): ``Copy``, ``Move``, ``Remove``,
``Glob``, ``Zip``, ``Unzip``; each path may be given when the task is made or called."""

from .compression import Unzip, Zip
from .operations import Copy, Glob, Move, Remove

__all__ = ["Copy", "Glob", "Move", "Remove", "Unzip", "Zip"]
