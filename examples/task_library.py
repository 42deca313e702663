"""The task library: a shell command, a SQLite database, a template and a local secret.

    python examples/task_library.py

A ShellTask writes a CSV into a temporary folder, SQLiteScript loads it into a database
file, SQLiteQuery sums it, StringFormatter writes the report line, and a PrefectSecret
(given for this run only) is passed to a task without ever being written to disk.
Exits non-zero if the report is not the expected one.
"""

import sys
import tempfile
from pathlib import Path

from prefect_dask import Flow, task
from prefect_dask.tasks.database.sqlite import SQLiteQuery, SQLiteScript
from prefect_dask.tasks.secrets import PrefectSecret
from prefect_dask.tasks.shell import ShellTask
from prefect_dask.tasks.templates import StringFormatter


@task
def load_script(csv_lines):
    rows = [line.split(",") for line in csv_lines[1:]]
    values = ", ".join(f"('{name}', {int(qty)})" for name, qty in rows)
    return f"CREATE TABLE stock (name TEXT, qty INT); INSERT INTO stock VALUES {values};"


@task
def signed(text, token):
    return f"{text} [signed by a {len(token)}-character token]"


def main() -> int:
    folder = Path(tempfile.mkdtemp())
    db = str(folder / "stock.db")
    with Flow("task-library") as flow:
        csv = ShellTask(helper_script=f"cd {folder}", return_all=True)(
            command="printf 'name,qty\\npen,3\\nink,5\\n' > stock.csv && cat stock.csv")
        loaded = SQLiteScript(db=db)(script=load_script(csv))
        total = SQLiteQuery(db=db, query="SELECT sum(qty) FROM stock")(upstream_tasks=[loaded])
        line = StringFormatter(template="{flow_name}: {n} items in stock")(n=total[0][0])
        report = signed(line, PrefectSecret("REPORT_TOKEN"))

    state = flow.run(executor="threads", context={"secrets": {"REPORT_TOKEN": "abc123"}})
    text = state.result[report].result
    print(text)
    print(f"flow state: {type(state).__name__}")
    return 0 if text == "task-library: 8 items in stock [signed by a 6-character token]" else 1


if __name__ == "__main__":
    sys.exit(main())
