"""Progress bar, end-of-run summary, ``flow.visualize`` and the HTML run report (issue 6).

The progress bar writes to ``sys.stderr`` (seen with ``capsys``): on with
``progress=True``, off with ``progress=False`` and, by default, when stderr is
not a terminal.  The summary is logged at INFO on ``prefect_dask`` (``caplog``)
when the run ends: counts by state, the slowest task runs, the failures.
Durations come from the run's clock, so a task that advances the fake clock is
"slow" deterministically.  ``prefect-dask report`` runs in a subprocess
(``python -m prefect_dask.app.cli``) against the test's ``PREFECT_DASK_HOME`` and
its one HTML file is parsed with ``html.parser``; it must open offline.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser

import pytest

from cluster_helpers import takes_ctrl_c
from prefect_dask import Flow, Parameter, case, signals, task, unmapped
from prefect_dask.app.cli import main
from prefect_dask.store.records import list_runs
from prefect_dask.states import Failed, Mapped
from prefect_dask.app.visualize import STATE_COLOURS


@pytest.fixture(autouse=True)
def home(home, monkeypatch):
    """conftest's home, and the default log level."""
    monkeypatch.delenv("PREFECT_DASK_LOGGING_LEVEL", raising=False)
    return home


@task
def inc(x):
    if x == 2:
        raise ValueError("two")
    return x + 1


@task
def total(xs):
    return sum(xs)


def sample_flow():
    """Constant -> inc.map (child 1 fails) -> total (TriggerFailed)."""
    with Flow("sample") as flow:
        t = total(inc.map([1, 2, 3]))
    return flow, t


def task_runs(state) -> int:
    """How many task runs a finished flow had: every task plus every mapped child."""
    return sum(1 + (len(s.map_states) if isinstance(s, Mapped) else 0)
               for s in state.result.values())


# -- progress -----------------------------------------------------------------------

def test_progress_bar_counts_every_task_run(executor, capsys):
    flow, _ = sample_flow()
    state = flow.run(executor=executor, progress=True)
    n = task_runs(state)
    assert n == 6
    err = capsys.readouterr().err
    final = err.rstrip("\n").split("\r")[-1]
    assert final.startswith("sample: 100%|") and f" {n}/{n} [" in final
    assert final.endswith("runs/s], 1 Failed 1 TriggerFailed")
    assert err.endswith("\n")


def test_progress_counts_children_of_a_width_known_only_at_run_time(executor, capsys):
    @task
    def numbers(n):
        return list(range(n))

    with Flow("staged") as flow:
        xs = inc.map(numbers(Parameter("n")))
        total(inc.map(xs))
    state = flow.run(parameters={"n": 5}, executor=executor, progress=True)
    n = task_runs(state)
    assert n == 1 + 1 + 2 * (1 + 5) + 1
    final = capsys.readouterr().err.rstrip("\n").split("\r")[-1]
    assert f" {n}/{n} [" in final


def test_progress_false_writes_nothing(executor, capsys):
    flow, _ = sample_flow()
    flow.run(executor=executor, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_is_off_by_default_when_stderr_is_not_a_terminal(executor, capsys):
    flow, _ = sample_flow()
    flow.run(executor=executor)
    assert "runs/s" not in capsys.readouterr().err


PROGRESS_SCRIPT = """
import logging, sys, time
from prefect_dask import Flow, task, get_logger

@task
def parse(x):
    time.sleep(0.004)
    if x % 40 == 7:
        get_logger().warning("record %d looks odd", x)
    if x % 100 == 3:
        raise ValueError("bad record %d" % x)
    return x

with Flow("pty-demo") as flow:
    parse.map(list(range(240)))
flow.run(executor="threads")
"""


def terminal(raw: str, width: int) -> tuple[list[str], set[int]]:
    """What a terminal ``width`` columns wide shows after ``raw`` (carriage returns
    overwrite; escape sequences ignored), and which rows continue a wrapped line."""
    raw = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    lines, row, col, wraps = [[]], 0, 0, set()
    for ch in raw:
        if ch == "\r":
            col = 0
            continue
        if ch == "\n" or col >= width:
            row, col = row + 1, 0
            if ch != "\n":
                wraps.add(row)
            if row == len(lines):
                lines.append([])
            if ch == "\n":
                continue
        line = lines[row]
        line.extend(" " * (col + 1 - len(line)))
        line[col] = ch
        col += 1
    return ["".join(line).rstrip() for line in lines], wraps


@pytest.mark.slow
def test_progress_bar_and_logs_in_a_real_terminal_80_columns_wide(tmp_path, home):
    import fcntl
    import pty
    import struct
    import termios

    script = tmp_path / "demo.py"
    script.write_text(PROGRESS_SCRIPT)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, str(script)], stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "PREFECT_DASK_HOME": str(home)})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:          # EIO: the terminal's last writer closed it
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    screen, wraps = terminal(b"".join(chunks).decode(), 80)
    bars = [line for line in screen if "runs/s]" in line]
    assert not any("runs/s" in screen[r - 1] for r in wraps), screen   # fits 80 columns
    assert len(bars) == 1, screen           # redraws stay on one line
    bar = bars[0]
    assert bar.startswith("pty-demo: 100%|") and "| 242/242 [00:0" in bar
    assert bar.endswith(" runs/s], 3 Failed") and len(bar) <= 80
    logical: list[str] = []     # the rows of a wrapped log line joined again
    for r, line in enumerate(screen):
        if r in wraps:
            logical[-1] += line
        else:
            logical.append(line)
    logs = [line for line in logical if line.startswith("[20")]
    assert sum("WARNING" in line and "looks odd" in line for line in logs) == 6
    assert all("runs/s]" not in line for line in logs)   # no log glued onto the bar
    assert screen.index(bar) < next(i for i, line in enumerate(screen)
                                    if "Flow run 'pty-demo' ended Failed" in line)


# -- the end-of-run summary -----------------------------------------------------------

def summary_of(caplog, flow_name) -> str:
    (message,) = [r.getMessage() for r in caplog.records
                  if r.name == "prefect_dask" and r.getMessage().startswith(f"Flow run {flow_name!r}")]
    return message


def test_summary_counts_slowest_and_failures(executor, caplog, clock):
    caplog.set_level(logging.INFO, logger="prefect_dask")

    @task
    def slow(xs):
        clock.sleep(7.5)            # the run's clock: this task run "takes" 7.5 s
        return xs

    with Flow("summary") as flow:
        t = total(inc.map(slow([1, 2, 3])))
    state = flow.run(executor=executor, clock=clock)
    assert isinstance(state, Failed)
    text = summary_of(caplog, "summary")
    lines = text.splitlines()
    assert re.match(r"Flow run 'summary' ended Failed in \d+\.\d\d s: 6 task runs \(", lines[0])
    counts = dict((s, int(n)) for n, s in re.findall(r"(\d+) (\w+)", lines[0].split("(", 1)[1]))
    assert counts == {"Success": 3, "Mapped": 1, "Failed": 1, "TriggerFailed": 1}
    assert lines[1] == "Slowest: slow 7.50 s"        # only runs of at least a millisecond
    assert lines[2:] == [
        "Failures:",
        "  inc[1]: Failed: Error during execution of task: ValueError('two')",
        '  total: TriggerFailed: Trigger was "all_successful" but some of the upstream tasks '
        "failed.",
    ]


def test_summary_of_a_successful_run_has_no_failures(executor, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")

    @task
    def one():
        return 1

    with Flow("all-good") as flow:
        one()
    flow.run(executor=executor)
    text = summary_of(caplog, "all-good")
    assert text.startswith("Flow run 'all-good' ended Success in ")
    assert "1 task runs (1 Success)" in text
    assert "Failures" not in text


def test_summary_stays_one_screen_with_many_failures(executor, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")

    @task
    def always_fails(x):
        raise signals.FAIL(f"no {x}")

    with Flow("many-failures") as flow:
        always_fails.map(list(range(500)))
    flow.run(executor=executor)
    text = summary_of(caplog, "many-failures")
    assert "500 Failed" in text
    assert len(text.splitlines()) <= 12
    assert "  always_fails[0]: Failed: no 0" in text.splitlines()
    run_id = list_runs()[0]["run_id"]
    assert text.splitlines()[-1] == f"  ... and 495 more (prefect-dask runs show {run_id[:8]} " \
        "groups them by task and exception)"
    assert "0.000 s" not in text and " 0 ms" not in text


# -- visualize ------------------------------------------------------------------------

def dot_nodes(dot: str) -> dict[str, str]:
    """Node id -> its attribute text."""
    return dict(re.findall(r'^  "([^"]+)" \[(.*)\];$', dot, flags=re.M))


def dot_edges(dot: str) -> set[tuple[str, str]]:
    return set(re.findall(r'^  "([^"]+)" -> "([^"]+)"', dot, flags=re.M))


def branching_flow():
    @task
    def pick():
        return "a"

    @task
    def report(x):
        return x

    with Flow("viz") as flow:
        p = pick()
        with case(p, "a"):
            a = inc(1)
        with case(p, "b"):
            b = inc(5)
        squares = inc.map([1, 2])
        bad = inc(2)
        report(bad, upstream_tasks=[a, unmapped(squares)])       # TriggerFailed
        report(b)                                                # Skipped
    return flow


def test_visualize_has_every_task_and_edge():
    flow = branching_flow()
    dot = flow.visualize()
    assert dot.startswith('digraph "viz" {')
    nodes = dot_nodes(dot)
    assert set(nodes) == {t.slug for t in flow.tasks}
    for t in flow.tasks:
        assert f'label="{t.name}"' in nodes[t.slug]
        assert "fillcolor" not in nodes[t.slug]            # no state: no colour
    assert dot_edges(dot) == {(e.upstream_task.slug, e.downstream_task.slug) for e in flow.edges}
    assert len(re.findall(r"->", dot)) == len(flow.edges)


def test_visualize_colours_by_state(executor):
    flow = branching_flow()
    state = flow.run(executor=executor)
    dot = flow.visualize(flow_state=state)
    nodes = dot_nodes(dot)
    kinds = set()
    for t in flow.tasks:
        kind = type(state.result[t]).__name__
        kinds.add(kind)
        assert f'fillcolor="{STATE_COLOURS[kind]}"' in nodes[t.slug], (t.name, kind)
        assert f"\\n{kind}" in nodes[t.slug]
    assert {"Success", "Skipped", "Failed", "TriggerFailed", "Mapped"} <= kinds
    assert len({STATE_COLOURS[k] for k in kinds}) == len(kinds)    # one colour per state
    mapped = next(t for t in flow.tasks if isinstance(state.result[t], Mapped))
    assert "(2 children)" in nodes[mapped.slug]


def test_visualize_escapes_names():
    @task(name='say "hi"\\now')
    def odd():
        return 1

    with Flow('the "flow"') as flow:
        odd()
    dot = flow.visualize()
    assert dot.startswith('digraph "the \\"flow\\"" {')
    assert 'label="say \\"hi\\"\\\\now"' in dot


@pytest.mark.skipif(importlib.util.find_spec("graphviz") is not None,
                    reason="graphviz is installed: visualize renders instead of writing .dot")
def test_visualize_writes_a_dot_file_without_graphviz(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="prefect_dask")
    flow = branching_flow()
    out = flow.visualize(filename=str(tmp_path / "graph"), format="png")
    assert out == str(tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text() == flow.visualize()
    assert any(f"dot -Tpng {out} -o {tmp_path / 'graph'}.png" in r.getMessage()
               for r in caplog.records)


# -- the HTML report --------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class Page(HTMLParser):
    """Collects text, tags and attributes, and checks that tags nest and close."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def run_report(args, home, cwd):
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "prefect_dask.app.cli", "report", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def test_report_writes_one_self_contained_html_file(executor, home, tmp_path):
    @task
    def explode(x):
        raise RuntimeError(f"exploded <{x}>")

    with Flow("reported") as flow:
        n = Parameter("n", default=3)
        xs = inc.map([1, 2, 3])
        t = total(xs)
        e = explode(n)
    state = flow.run(parameters={"n": 4}, executor=executor)
    assert isinstance(state, Failed)

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = run_report(["last", "-o", "f.html"], home, out_dir)
    assert proc.returncode == 0, proc.stderr
    assert "f.html" in proc.stdout
    assert [p.name for p in out_dir.iterdir()] == ["f.html"]      # one file, nothing beside it
    html = (out_dir / "f.html").read_text()

    page = Page()
    page.feed(html)
    page.close()
    assert page.errors == [] and page.stack == []
    # opens offline: no scripts, stylesheets, images or links fetched from anywhere
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, flags=re.I)
    assert "http://" not in html and "https://" not in html
    assert "@import" not in html and "url(" not in html
    for tag, attrs in page.tags:
        for key in ("src", "href"):
            assert key not in attrs or attrs[key].startswith("#"), (tag, attrs)

    text = "\n".join(page.text)
    titles = [a["title"] for _, a in page.tags if "title" in a]
    assert any(t.startswith("n: 1 Success") for t in titles)
    assert any(t.startswith("explode: 1 Failed") for t in titles)
    inc_spans = [t for t in titles if t.startswith("inc")]   # children merged per worker
    assert sum(int(re.match(r"inc(?: \((\d+) task runs\))?:", t).group(1) or 1)
               for t in inc_spans) == 3
    assert "1 Failed" in " ".join(inc_spans)
    record = list_runs()[0]
    workers = {t["worker"] for t in record["tasks"].values() if t.get("worker")} | {
        c["worker"] for t in record["tasks"].values() for c in t["children"].values()
        if c.get("worker")}
    lanes = [unescape(w) for w in re.findall(r'<div class="who">([^<]*)</div>', html)]
    assert workers and sorted(lanes[1:]) == sorted(workers)  # one timeline lane per worker
    assert lanes[0] == "time since the first task run started"    # the time axis
    assert re.search(r'<div class="tick" style="left:0\.000%">0 s</div>', html)
    run_id = record["run_id"]
    assert run_id in text and "'reported'" in text
    assert "{'n': 4}" in text                                 # the parameters
    tasks = html[html.index("<h2>Tasks"):html.index("<h2>Failures")]
    assert re.search(r"<td>inc</td><td>Mapped</td><td class=\"n\">3</td>"
                     r"<td class=\"n\">1</td><td class=\"n\">2</td>", tasks)  # Failed, Success
    failures = html[html.index("<h2>Failures"):]
    for name, message in [("inc[1]", "ValueError(&#x27;two&#x27;)"),
                          ("explode", "RuntimeError(&#x27;exploded &lt;4&gt;&#x27;)")]:
        assert f"<td>{name}</td>" in failures and message in failures, name
    assert "raise RuntimeError(f&quot;exploded &lt;{x}&gt;&quot;)" in failures   # traceback
    assert "exploded <4>" not in html                         # messages are escaped


def test_report_lists_trigger_failed_tasks_among_failures(home, tmp_path):
    flow, t = sample_flow()
    state = flow.run(executor="local")
    assert type(state.result[t]).__name__ == "TriggerFailed"
    out = tmp_path / "r.html"
    assert main(["report", "last", "-o", str(out)]) == 0
    html = out.read_text()
    failures = html[html.index("<h2>Failures"):]
    assert "<td>total</td><td>TriggerFailed</td>" in failures
    assert "Failures (2)" in html


def test_report_by_run_id_and_an_unknown_run(home, tmp_path, capsys):
    flow, _ = sample_flow()
    flow.run(executor="local")
    run_id = list_runs()[0]["run_id"]
    out = tmp_path / "r.html"
    assert main(["report", run_id, "-o", str(out)]) == 0
    page = Page()
    page.feed(out.read_text())
    assert f"Run {run_id} of flow 'sample'" in page.text
    assert main(["report", "no-such-run", "-o", str(tmp_path / "x.html")]) == 2
    assert "No run 'no-such-run' is recorded" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


@pytest.mark.slow
def test_report_of_runs_that_did_not_end(home, tmp_path):
    """A run stopped by Ctrl-C and one whose driver was killed (no end entry) render."""
    import signal
    script = tmp_path / "slow.py"
    script.write_text(
        "import sys, time\n"
        "from prefect_dask import Flow, task\n"
        "@task\n"
        "def nap(x):\n"
        "    time.sleep(0.5 if x < 4 else 30)\n"
        "with Flow('stopped') as flow:\n"
        "    nap.map(list(range(8)))\n"
        "flow.run(executor='threads')\n")
    env = {**os.environ, "PREFECT_DASK_HOME": str(home)}
    pages = []
    for sig in (signal.SIGINT, signal.SIGKILL):
        proc = subprocess.Popen([sys.executable, str(script)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=takes_ctrl_c)
        import time
        time.sleep(4)             # started, and the first children finished
        proc.send_signal(sig)
        proc.wait(timeout=60)
        out = tmp_path / f"{sig.name}.html"
        assert main(["report", "last", "-o", str(out)]) == 0
        pages.append(out.read_text())
    cancelled, killed = pages
    assert "State: <b>Cancelled</b> The flow run was interrupted (Ctrl-C)." in cancelled
    assert "<td>nap</td><td>Cancelled</td>" in cancelled
    assert "State: <b>Crashed</b>" in killed and "not finished after" in killed
    assert '<div class="bar"' in killed                 # what finished before the kill


def test_report_of_a_million_children_stays_small(home, tmp_path):
    from test_history import Record
    rec = Record(home, "big-run", flow="big")
    n = 250_000
    for j in range(4):
        states = ["Success"] * n
        states[5] = "Failed"
        rec.children("m", j * n, states, {5: "Error during execution of task: OSError('x')"},
                     t=j * 30.0, workers=[f"w{j % 2}"] * n,
                     logs={5: [{"msg": "Task 'm[5]': Exception encountered during task "
                                       "execution!", "levelno": 40, "name": "x",
                                "exc_text": "Traceback (most recent call last):\nOSError: x"}]})
    rec.task("m", "Mapped")
    rec.end("Failed")
    out = tmp_path / "big.html"
    assert main(["report", "big", "-o", str(out)]) == 0
    html = out.read_text()
    assert len(html) < 200_000
    assert "m[5, 250005, 500005, 750005]</td><td>Failed</td><td>OSError</td>" \
        "<td class=\"n\">4</td>" in html
    assert "<pre>Traceback (most recent call last):\nOSError: x</pre>" in html
    assert re.search(r'<div class="tick" style="left:[\d.]+%">1m00s</div>', html)
