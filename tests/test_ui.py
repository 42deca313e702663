"""``prefect-dask ui`` in a real browser: headless Chromium against a real UI process on
127.0.0.1, reading the runs that real flows wrote (issue 16)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from prefect_dask import Flow, Parameter, task
from prefect_dask.errors import PrefectDaskError
from prefect_dask.app.ui import make_server

from browser import Chromium, UIProcess, chromium, fetch

needs_browser = pytest.mark.skipif(
    chromium() is None, reason="Chromium is not installed (apt-get install -y chromium; "
                               ".ci/run installs it as root)")
SECRET = "hunter2-do-not-show"
EVIL = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"


@task
def numbers(n):
    return list(range(n))


@task
def parse(x):
    if x == 3:
        raise ValueError(f"bad record {x}")
    return x


@task
def use_token(token):
    return len(token)


@task(name=EVIL)
def evil(x):
    return x


@task
def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.02)
    return "opened"


def mapped_flow(name: str) -> Flow:
    with Flow(name) as flow:
        parse.map(numbers(Parameter("n", default=6)))
    return flow


def run_id_of(home: Path, before: set, wait: bool = False) -> str:
    """The id of the one run recorded since ``before`` (the record files then); with
    ``wait``, wait for it to appear."""
    deadline = time.monotonic() + 60
    while True:
        new = set((home / "runs").glob("*.msgpack")) - before
        if new or not wait:
            break
        assert time.monotonic() < deadline, "no run was recorded"
        time.sleep(0.02)
    assert len(new) == 1, new
    return new.pop().stem


def recorded(flow: Flow, home: Path, **run_kwargs: object) -> tuple:
    """``flow.run(**run_kwargs)``: its final state and its run's id."""
    before = set((home / "runs").glob("*.msgpack"))
    state = flow.run(**run_kwargs)
    return state, run_id_of(home, before)


@contextlib.contextmanager
def running(flow: Flow, home: Path, gate: Path, executor: object = "threads"):
    """``flow.run`` in a thread until ``gate`` exists; yields the run's id once recorded."""
    before = set((home / "runs").glob("*.msgpack"))
    run = threading.Thread(target=flow.run, kwargs={"executor": executor})
    run.start()
    try:
        yield run_id_of(home, before, wait=True)
    finally:
        gate.touch()
        run.join(60)


@pytest.fixture(scope="module")
def browser():
    if chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run installs "
                    "it as root)")
    with Chromium() as b:
        yield b


@pytest.fixture(scope="module")
def ui_home(tmp_path_factory):
    return tmp_path_factory.mktemp("ui-home")


@pytest.fixture(scope="module")
def ui(ui_home):
    with UIProcess(ui_home) as process:
        yield process


@pytest.fixture
def runs_home(ui_home, monkeypatch):
    """Flows in the test write where the module's UI process reads."""
    monkeypatch.setenv("PREFECT_DASK_HOME", str(ui_home))
    return ui_home


@needs_browser
def test_runs_list_shows_the_runs_and_a_failed_runs_page_shows_task_and_exception(
        browser, ui, runs_home):
    state, ok = recorded(mapped_flow("etl-ok"), runs_home, parameters={"n": 2})
    assert state.is_successful()
    state, bad = recorded(mapped_flow("etl-bad"), runs_home)
    assert state.is_failed()

    browser.goto(ui.url + "/")
    table = browser.text("table.runs")
    assert ok[:8] in table and bad[:8] in table
    assert "etl-ok" in table and "etl-bad" in table
    row = browser.eval(f"[...document.querySelectorAll('table.runs tr')].find("
                       f"r => r.innerText.includes('{bad[:8]}')).innerText")
    assert "Failed" in row and "7 Success" in row and "1 Failed" in row   # n, numbers, 5 children

    browser.goto(ui.url + "/?state=Failed")
    assert bad[:8] in browser.text("table.runs") and ok[:8] not in browser.text("table.runs")

    browser.eval(f"document.querySelector('a[href=\"/runs/{bad}\"]').click()")
    browser.wait_for(f"location.pathname === '/runs/{bad}' && "
                     "document.readyState === 'complete'")
    failure = browser.text(".failure")
    assert "parse" in failure and "ValueError" in failure and "bad record 3" in failure
    trace = browser.text(".failure pre.traceback")
    assert trace.startswith("Traceback") and 'raise ValueError(f"bad record {x}")' in trace
    assert "Failed" in browser.text("#state")
    tasks = browser.text("table.tasks")
    assert "parse (mapped)" in tasks

    browser.eval("document.querySelector('table.tasks a[href*=\"state=Failed\"]').click()")
    browser.wait_for("location.pathname.endsWith('/children') && "
                     "document.readyState === 'complete'")
    assert browser.text(".children") == "parse[3]"   # which child failed
    status, body = fetch(f"{ui.url}/api/runs/{bad[:8]}/children?task=parse&state=Success")
    assert status == 200 and [c["map_index"] for c in json.loads(body)["children"]] == \
        [0, 1, 2, 4, 5]
    status, body = fetch(f"{ui.url}/api/runs/{bad}/children?task=nope")
    assert status == 404 and "has no task 'nope'; its tasks are: n, numbers, parse" in body


@needs_browser
def test_a_running_flows_page_turns_from_running_to_success_without_a_reload(
        browser, ui, runs_home, tmp_path):
    gate = tmp_path / "gate"
    with Flow("slow") as flow:
        wait_for(str(gate))
    with running(flow, runs_home, gate) as run_id:
        browser.goto(f"{ui.url}/runs/{run_id[:8]}")
        assert browser.text("#state").startswith("Running")
        browser.eval("window.__same_page = true")
    browser.wait_for("document.querySelector('#state').innerText.startsWith('Success')", 30,
                     "the page to show Success")
    assert browser.eval("window.__same_page") is True   # no reload happened
    assert browser.eval("document.title").endswith("Success")
    assert browser.eval("document.querySelector('#state').dataset.live") == "0"
    assert "1 Success" in browser.text("#live") or "Success" in browser.text("table.tasks")


@needs_browser
def test_a_secret_parameters_value_leaves_the_server_nowhere(browser, ui, runs_home):
    with Flow("secretive") as flow:
        use_token(Parameter("token", secret=True))
    state, run_id = recorded(flow, runs_home, parameters={"token": SECRET})
    assert state.is_successful()
    for path in ("/", f"/runs/{run_id}", f"/runs/{run_id[:8]}", f"/runs/{run_id}/live",
                 "/?flow=secretive"):
        browser.goto(ui.url + path)
        assert SECRET not in browser.html(), path
        assert run_id[:8] in browser.html() or "use_token" in browser.html(), path
    browser.goto(f"{ui.url}/runs/{run_id}")
    assert browser.text("table.params").split() == ["token", '"********"']
    for path in ("/api/runs", f"/api/runs/{run_id}", f"/api/runs/{run_id}/logs",
                 "/api/runs/last"):
        status, body = fetch(ui.url + path)
        assert status == 200 and SECRET not in body, path


@needs_browser
def test_a_task_name_with_markup_is_shown_as_text(browser, ui, runs_home):
    with Flow(f"markup {EVIL}") as flow:
        evil(1)
    state, run_id = recorded(flow, runs_home)
    assert state.is_successful()
    for path in (f"/runs/{run_id}", "/"):
        browser.goto(ui.url + path)
        time.sleep(0.3)   # give an injected script or onerror the time to run
        assert browser.eval("window.__pwned") is None, path
        assert EVIL in browser.text("body"), path
    browser.goto(f"{ui.url}/runs/{run_id}")
    assert EVIL in browser.text("table.tasks")
    assert browser.eval("document.querySelectorAll('main script, main img').length") == 0


@needs_browser
def test_a_wrong_token_is_refused(browser, ui_home, monkeypatch):
    monkeypatch.setenv("PREFECT_DASK_UI_TOKEN", "right-token-123")   # as --token, out of ps
    with UIProcess(ui_home) as guarded:
        browser.goto(guarded.url + "/?token=wrong")
        assert "Refused" in browser.text("body") and "runs" not in browser.text("main h1")
        for path in ("/api/runs", "/runs/last", "/static/ui.css"):
            status, body = fetch(guarded.url + path)
            assert status == 403, path
            status, body = fetch(guarded.url + path, {"Authorization": "Bearer wrong"})
            assert status == 403, path
        status, _ = fetch(guarded.url + "/api/runs", {"Authorization": "Bearer right-token-123"})
        assert status == 200
        import http.client

        where = http.client.HTTPConnection(guarded.url.split("//")[1], timeout=30)
        where.request("GET", "//example.com/?token=right-token-123")
        answer = where.getresponse()   # the token goes into a cookie, off the address...
        assert answer.status == 303 and answer.getheader("Location") == "/example.com/"
        assert "HttpOnly" in answer.getheader("Set-Cookie")   # ...and the redirect stays here
        where.close()
        browser.goto(guarded.url + "/?token=right-token-123")   # kept in a cookie from here on
        assert browser.text("main h1") == "Runs"
        assert "token" not in browser.eval("location.href")
        browser.goto(guarded.url + "/api/runs")
        assert '"runs"' in browser.text("body")


def test_another_address_than_loopback_needs_a_token():
    with pytest.raises(PrefectDaskError, match=r"--host 0\.0\.0\.0: .* needs a token: add "
                                               r"--token"):
        make_server("0.0.0.0", 0)


def test_the_ui_is_read_only_and_answers_only_loopback_hosts(ui):
    import urllib.request

    request = urllib.request.Request(ui.url + "/api/runs", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 405
    status, body = fetch(ui.url + "/", {"Host": "attacker.example:80"})
    assert status == 403 and "answers only at 127.0.0.1" in body


def test_an_unknown_run_id_is_a_404_naming_the_fix(ui):
    status, body = fetch(ui.url + "/api/runs/ffffffff")
    assert status == 404 and "No run 'ffffffff' is recorded" in body
    status, body = fetch(ui.url + "/runs/not-an-id!")
    assert status == 404 and "No run &#x27;not-an-id!&#x27; is recorded" in body


@needs_browser
def test_a_big_runs_page_stays_light_and_its_screenshot_shows_it(browser, ui, runs_home,
                                                                  tmp_path):
    from prefect_dask.app.ui.data import BINS, EACH

    n = 2 * EACH
    state, run_id = recorded(mapped_flow("big"), runs_home, parameters={"n": n},
                             executor="threads")
    assert state.is_failed()
    status, page = fetch(f"{ui.url}/runs/{run_id}")
    assert status == 200 and len(page) < 100_000
    browser.goto(f"{ui.url}/runs/{run_id}")
    assert f"{n - 1:,}" in browser.text("table.tasks")   # parse: n - 1 Success, 1 Failed
    lanes = browser.eval("document.querySelectorAll('svg.timeline text.lane').length")
    segments = browser.eval("document.querySelectorAll('svg.timeline g.seg').length")
    assert 1 <= lanes and segments <= lanes * BINS < n   # children grouped, not one each
    shot = browser.screenshot(tmp_path / "big-run.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


@needs_browser
def test_a_run_whose_driver_was_killed_shows_crashed(browser, ui, runs_home, tmp_path):
    import signal
    import subprocess
    import sys

    gate = tmp_path / "never"
    script = tmp_path / "stuck.py"
    script.write_text(
        "import os, time\nfrom prefect_dask import Flow, task\n"
        "@task\ndef stuck():\n"
        f"    while not os.path.exists({str(gate)!r}):\n        time.sleep(0.02)\n"
        "with Flow('stuck') as flow:\n    stuck()\n")
    before = set((runs_home / "runs").glob("*.msgpack"))
    driver = subprocess.Popen([sys.executable, "-m", "prefect_dask.app.cli", "run", str(script)],
                              env={**os.environ, "PREFECT_DASK_HOME": str(runs_home)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run_id = run_id_of(runs_home, before, wait=True)
        browser.goto(f"{ui.url}/runs/{run_id}")
        assert browser.text("#state").startswith("Running")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    browser.wait_for("document.querySelector('#state').innerText.startsWith('Crashed')", 30,
                     "the page to show Crashed")
    status, body = fetch(f"{ui.url}/api/runs/{run_id}")
    assert status == 200 and '"state": "Crashed"' in body and '"live": false' in body


@needs_browser
@pytest.mark.slow
def test_a_run_on_a_cluster_links_its_dask_dashboard(browser, ui, runs_home, dask_cluster):
    from prefect_dask.executors import DaskExecutor

    executor = DaskExecutor(address=dask_cluster.scheduler_address)
    state, run_id = recorded(mapped_flow("on-cluster"), runs_home, parameters={"n": 2},
                             executor=executor)
    assert state.is_successful()
    browser.goto(f"{ui.url}/runs/{run_id}")
    link = browser.eval("(document.querySelector('#live a') || {}).href")
    assert link and link.rstrip("/") == dask_cluster.dashboard_link.rstrip("/")
    assert "Dask dashboard" in browser.text("#live")


@task
def chatty(x):
    from prefect_dask import get_logger

    get_logger().info("needle-%s found" if x == 2 else "hay %s", x)
    return x


@needs_browser
def test_a_runs_logs_are_shown_per_task_and_searchable(browser, ui, runs_home):
    with Flow("chatty") as flow:
        chatty.map(numbers(Parameter("n", default=4)))
    state, run_id = recorded(flow, runs_home)
    assert state.is_successful()
    browser.goto(f"{ui.url}/runs/{run_id}")
    logs = browser.text("table.logs")
    assert "chatty[0]" in logs and "hay 0" in logs and "needle-2 found" in logs
    browser.eval("document.querySelector('input[name=q]').value = 'NEEDLE';"
                 "document.querySelector('input[name=q]').form.submit()")
    browser.wait_for("location.search.includes('q=NEEDLE') && "
                     "document.readyState === 'complete'")
    logs = browser.text("table.logs")
    assert "needle-2 found" in logs and "chatty[2]" in logs and "hay" not in logs
    status, body = fetch(f"{ui.url}/api/runs/{run_id[:8]}/logs?q=hay&task=chatty")
    assert status == 200 and body.count('"message": "hay') == 3 and "needle" not in body


@task
def gated(x, path):
    if x == 0:
        raise ValueError("early failure")
    while not os.path.exists(path):
        time.sleep(0.02)
    return x


@needs_browser
def test_a_failure_and_progress_appear_on_a_running_flows_page(browser, ui, runs_home,
                                                                tmp_path):
    from prefect_dask import unmapped
    from prefect_dask.executors import LocalDaskExecutor

    gate = tmp_path / "gate"
    with Flow("gated") as flow:
        gated.map(numbers(Parameter("n", default=4)), unmapped(str(gate)))
    # a thread per child: child 0 fails at once while the others wait at the gate
    with running(flow, runs_home, gate, LocalDaskExecutor("threads", num_workers=4)) as run_id:
        browser.goto(f"{ui.url}/runs/{run_id}")
        browser.eval("window.__same_page = true")
        browser.wait_for("(document.querySelector('.failure') || {}).innerText", 30,
                         "the failure to appear")
        assert "early failure" in browser.text(".failure")
        assert browser.text("#state").startswith("Running")
        assert browser.eval("document.querySelector('#live progress').max") >= 4
    browser.wait_for("document.querySelector('#state').innerText.startsWith('Failed')", 30)
    assert browser.eval("window.__same_page") is True
    assert browser.text("table.tasks").split("\n")[-1].split() == [
        "gated", "(mapped)", "3", "1", "4", "-", "-"]   # 3 Success, 1 Failed of 4
    assert browser.eval("document.querySelector('#live progress')") is None


def test_the_cli_refuses_another_address_without_a_token(capsys):
    from prefect_dask.app.cli import main

    assert main(["ui", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--host 0.0.0.0: anyone who can reach that address could read your runs, so it " \
           "needs a token" in capsys.readouterr().err


@needs_browser
def test_the_runs_list_follows_a_running_flow_without_a_reload(browser, ui, runs_home,
                                                              tmp_path):
    gate = tmp_path / "gate"
    with Flow("listed") as flow:
        wait_for(str(gate))
    with running(flow, runs_home, gate) as run_id:
        browser.goto(f"{ui.url}/?flow=listed")
        row = f"document.querySelector('a[href=\"/runs/{run_id}\"]').closest('tr').innerText"
        assert "Running" in browser.eval(row)
        browser.eval("window.__same_page = true")
    browser.wait_for(f"{row}.includes('Success')", 30, "the row to show Success")
    assert browser.eval("window.__same_page") is True


def test_the_token_option_guards_every_request(ui_home):
    with UIProcess(ui_home, "--token", "given-on-the-command-line") as guarded:
        assert fetch(guarded.url + "/api/runs")[0] == 403
        assert fetch(guarded.url + "/api/runs?token=given-on-the-command-line")[0] == 200
        assert fetch(guarded.url + "/",
                     {"Cookie": "prefect_dask_ui=given-on-the-command-line"})[0] == 200
