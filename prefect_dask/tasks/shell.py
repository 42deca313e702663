"""``ShellTask``: run a shell command (Prefect 1's ``prefect.tasks.shell``).

The command (after the optional ``helper_script``) is written to a temporary
file and run by ``shell`` (``bash`` by default) with the process environment plus
``env``.  As in Prefect 1, stderr is merged into stdout: the task returns the last
line of that output (``return_all=True``: every line, as a list; no output: None).
A non-zero exit code fails the task with a ``signals.FAIL`` whose message holds
the end of the output (where the command's error usually is) and whose result is
what a success would have returned.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections import deque
from typing import Any

from ..utilities.logging import get_logger
from ..signals import FAIL
from ..task import Task
from ..utilities.tasks import defaults_from_attrs

__all__ = ["ShellTask"]

#: Lines of output a failure message quotes.
TAIL_LINES = 20


def _level(task_name: str, stream_output: bool | int | str) -> int | None:
    """``stream_output`` as a logging level, or None for no streaming."""
    if stream_output is True:
        return logging.INFO
    if stream_output is False or stream_output is None:
        return None
    level = logging.getLevelName(stream_output) if isinstance(stream_output, str) \
        else stream_output
    if not isinstance(level, int):
        raise TypeError(
            f"ShellTask {task_name!r}: stream_output={stream_output!r} is not a logging level; "
            "pass True (INFO), a number, or a level name such as 'DEBUG'."
        )
    return level


class ShellTask(Task):
    """Run ``command`` in ``shell``; each of ``command``, ``env`` and ``helper_script`` may
    also be given when the task is called in a flow, which overrides the one given here.

    ``log_stderr=True`` logs the output of a failing command (the last line, or all with
    ``return_all``); ``stream_output=True`` (or a level) logs each line as it comes.
    """

    def __init__(self, command: str | None = None, env: dict | None = None,
                 helper_script: str | None = None, shell: str = "bash",
                 return_all: bool = False, log_stderr: bool = False,
                 stream_output: bool | int | str = False, **kwargs: Any) -> None:
        self.command = command
        self.env = env
        self.helper_script = helper_script
        self.shell = shell
        self.return_all = return_all
        self.log_stderr = log_stderr
        super().__init__(**kwargs)
        self.stream_output = _level(self.name, stream_output)

    @defaults_from_attrs("command", "env", "helper_script")
    def run(self, command: str | None = None, env: dict | None = None,  # type: ignore[override]
            helper_script: str | None = None) -> str | list[str] | None:
        if command is None:
            raise TypeError(
                f"ShellTask {self.name!r} has no command to run; pass ShellTask(command=...) "
                "or call it in the flow with command=..."
            )
        logger = get_logger()
        script = f"{helper_script}{os.linesep}{command}" if helper_script else command
        with tempfile.NamedTemporaryFile("w", prefix="prefect-dask-", suffix=".sh") as fh:
            fh.write(script)
            fh.flush()
            try:
                process = subprocess.Popen([self.shell, fh.name], stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT,
                                           env={**os.environ, **(env or {})})
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"ShellTask {self.name!r}: shell {self.shell!r} was not found; install it "
                    "or pass ShellTask(shell=...) naming one on the PATH (e.g. 'sh')."
                ) from None
            with process:
                lines: list[str] = []                       # kept whole for return_all
                tail: deque[str] = deque(maxlen=TAIL_LINES)  # for the failure message
                for raw in process.stdout:  # type: ignore[union-attr]
                    line = raw.decode("utf-8", errors="replace").rstrip()
                    tail.append(line)
                    if self.return_all:
                        lines.append(line)
                    if self.stream_output is not None:
                        logger.log(self.stream_output, line)
                code = process.wait()
        output = lines if self.return_all else (tail[-1] if tail else None)
        if code:
            logger.error("Command failed with exit code %s", code)
            if self.log_stderr and self.stream_output is None:
                logger.error("%s", "\n".join(lines) if self.return_all else output)
            ending = "\n".join(tail) or "(no output)"
            raise FAIL(f"ShellTask {self.name!r}: command failed with exit code {code}. "
                       f"Its output (stdout and stderr) ends with:\n{ending}", result=output)
        return output
