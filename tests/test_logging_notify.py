"""Task logging and notifications (issue 6).

Logging: records of ``get_logger()`` in a task (and ``print`` with
``log_stdout=True``) travel back with the task's State, are re-emitted on the
driver's ``prefect_dask`` loggers (seen here with ``caplog``) carrying
``flow_name``, ``task_name`` and ``map_index``, and are saved in the run record;
``flow.run(log_level=...)`` and ``PREFECT_DASK_LOGGING_LEVEL`` drop records
below the level.

Notifications: ``webhook_notifier`` / ``slack_notifier`` POST JSON to a real
HTTP server on 127.0.0.1 (port 0) run by the test in a thread.  A notification
that cannot be delivered (a 500, a closed port) is a logged warning and never
changes a state; a URL that is not http(s) is refused when the handler is made.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from cluster_helpers import pickle_by_value
from prefect_dask import (Flow, context, get_logger, signals, slack_notifier, states, task,
                          webhook_notifier)
from prefect_dask.executors import LocalDaskExecutor
from prefect_dask.store.records import list_runs, read_record
from prefect_dask.states import Failed, Success

from local_servers import Server

ROOT = logging.getLogger("prefect_dask")

pickle_by_value(__name__)   # the tasks below also run in worker processes


@pytest.fixture(autouse=True)
def home(home, monkeypatch):
    """conftest's home; every test starts from the default log level (INFO) and the
    ``prefect_dask`` logger's level is put back afterwards (``log_level=`` changes it)."""
    monkeypatch.delenv("PREFECT_DASK_LOGGING_LEVEL", raising=False)
    level = ROOT.level
    ROOT.setLevel(logging.NOTSET)
    yield home
    ROOT.setLevel(level)


def task_records(caplog, flow_name):
    """The records a flow's tasks logged themselves (not the engine's lines about them)."""
    return [r for r in caplog.records if getattr(r, "flow_name", None) == flow_name
            and r.name != "prefect_dask.TaskRunner"]


def task_lines(logs: list[dict]) -> list[str]:
    """The messages of a recorded task run's own records (not the engine's lines)."""
    return [l["msg"] for l in logs if l["name"] != "prefect_dask.TaskRunner"]


def only_run() -> dict:
    (record,) = list_runs()
    return read_record(record["path"])


# -- logging ------------------------------------------------------------------------

@task
def chatty(x):
    log = get_logger()
    log.info("processing %s", x)
    log.debug("detail of %s", x)
    log.warning("careful with %s", x)
    return x


def test_task_records_are_reemitted_on_the_driver_with_their_fields(executor, caplog):
    caplog.set_level(logging.DEBUG)
    emitted_on = []

    class WhereHandler(logging.Handler):
        def emit(self, record):
            emitted_on.append(threading.current_thread())

    where = WhereHandler()
    logger = logging.getLogger("prefect_dask.chatty")
    logger.addHandler(where)
    with Flow("logs") as flow:
        chatty.map([1, 2, 3])
    try:
        state = flow.run(executor=executor)
    finally:
        logger.removeHandler(where)
    assert isinstance(state, Success)
    assert emitted_on and set(emitted_on) == {threading.current_thread()}   # on the driver
    records = task_records(caplog, "logs")
    assert {r.name for r in records} == {"prefect_dask.chatty"}
    assert sorted((r.map_index, r.getMessage(), r.levelname) for r in records) == sorted(
        [(i, f"processing {i + 1}", "INFO") for i in range(3)]
        + [(i, f"careful with {i + 1}", "WARNING") for i in range(3)])
    for r in records:
        assert r.flow_name == "logs" and r.task_name == "chatty"
    for i in range(3):   # each child's records in the order it logged them
        mine = [r.getMessage() for r in records if r.map_index == i]
        assert mine == [f"processing {i + 1}", f"careful with {i + 1}"]
    # the debug records were dropped: the default level is INFO
    assert not any(r.levelno == logging.DEBUG for r in records)


def test_records_of_a_plain_task_have_no_map_index(executor, caplog):
    caplog.set_level(logging.INFO)
    with Flow("plain-logs") as flow:
        chatty(7)
    flow.run(executor=executor)
    records = task_records(caplog, "plain-logs")
    assert [(r.getMessage(), r.map_index, r.task_name) for r in records] == [
        ("processing 7", None, "chatty"), ("careful with 7", None, "chatty")]


def test_records_come_back_from_a_failed_and_a_retried_task(executor, caplog, clock):
    caplog.set_level(logging.INFO)

    @task(max_retries=1, retry_delay=0)
    def fails():
        get_logger().info("attempt %d", context.task_run_count)
        try:
            1 / 0
        except ZeroDivisionError:
            get_logger().exception("could not divide")
            raise

    with Flow("fail-logs") as flow:
        fails()
    flow.run(executor=executor, clock=clock)
    records = task_records(caplog, "fail-logs")
    assert [r.getMessage() for r in records] == [
        "attempt 1", "could not divide", "attempt 2", "could not divide"]
    errors = [r for r in records if r.levelno == logging.ERROR]
    assert errors and all("ZeroDivisionError" in (r.exc_text or "") for r in errors)


def test_log_stdout_captures_prints(executor, caplog):
    caplog.set_level(logging.INFO)

    @task(log_stdout=True)
    def printer(x):
        print(f"hello from print {x}")
        print("no newline at the end", end="")
        return x

    @task
    def quiet():
        return 1

    with Flow("prints") as flow:
        printer.map([1, 2])
        quiet()
    flow.run(executor=executor)
    records = task_records(caplog, "prints")
    seen = sorted((r.map_index, r.getMessage()) for r in records)
    assert seen == [(0, "hello from print 1"), (0, "no newline at the end"),
                    (1, "hello from print 2"), (1, "no newline at the end")]
    assert {r.task_name for r in records} == {"printer"}


def test_concurrent_children_printing_partial_lines_keep_their_own_lines(caplog):
    """Two children of one task print pieces of lines at the same time on threads (a barrier
    makes them take turns): each child's log holds exactly its own lines."""
    caplog.set_level(logging.INFO)
    turn = threading.Barrier(2, timeout=30)

    @task(log_stdout=True, map_batch_size=1)
    def brackets(i):
        for piece in ("[", i, "]\n", "(", i, ")"):    # the last line has no newline
            print(piece, end="")
            turn.wait()
        return i

    with Flow("partial-prints") as flow:
        brackets.map([1, 2])
    state = flow.run(executor=LocalDaskExecutor(scheduler="threads", num_workers=2))
    assert state.is_successful(), state.result
    seen = sorted((r.map_index, r.getMessage()) for r in task_records(caplog, "partial-prints"))
    assert seen == [(0, "(1)"), (0, "[1]"), (1, "(2)"), (1, "[2]")]


@task(log_stdout=True, map_batch_size=1)
def print_in_pieces(i):
    for piece in ("<", i, ">\n", "<<", i, ">>"):
        print(piece, end="")
        time.sleep(0.002)
    return i


def test_children_printing_partial_lines_keep_their_own_lines(any_executor, caplog):
    """The same on every executor, without forcing the turns (on Dask and threads the
    children of a worker's threads run at once)."""
    caplog.set_level(logging.INFO)
    with Flow("pieces") as flow:
        print_in_pieces.map(list(range(8)))
    assert flow.run(executor=any_executor).is_successful()
    seen = sorted((r.map_index, r.getMessage()) for r in task_records(caplog, "pieces"))
    assert seen == sorted(x for i in range(8) for x in ((i, f"<{i}>"), (i, f"<<{i}>>")))


def test_records_are_saved_in_the_run_record(executor, caplog):
    caplog.set_level(logging.INFO)
    with Flow("saved-logs") as flow:
        chatty.map([1, 2])
        chatty(5)
    flow.run(executor=executor)
    record = only_run()
    entries = [t for t in record["tasks"].values() if t.get("name") == "chatty"]
    assert len(entries) == 2
    plain = next(t for t in entries if not t["children"])
    mapped = next(t for t in entries if t["children"])
    assert [(l["msg"], l["levelname"], l.get("flow_name"), l["task_name"], l["map_index"])
            for l in plain["logs"]] == [
        ("Task 'chatty': Starting task run...", "INFO", "saved-logs", "chatty", None),
        ("processing 5", "INFO", "saved-logs", "chatty", None),
        ("careful with 5", "WARNING", "saved-logs", "chatty", None),
        ("Task 'chatty': Finished task run for task with final state: 'Success'", "INFO",
         "saved-logs", "chatty", None)]
    for i in (0, 1):
        assert [(l["msg"], l["map_index"]) for l in mapped["children"][i]["logs"]] == [
            (f"processing {i + 1}", i), (f"careful with {i + 1}", i)]


def test_records_are_reemitted_in_the_order_tasks_finish(executor, caplog):
    caplog.set_level(logging.INFO)

    @task
    def step(x, label):
        for k in range(3):
            get_logger().info("%s %d", label, k)
        return x

    with Flow("ordered") as flow:
        step(step(step(0, "first"), "second"), "third")
    flow.run(executor=executor)
    assert [r.getMessage() for r in task_records(caplog, "ordered")] == [
        f"{label} {k}" for label in ("first", "second", "third") for k in range(3)]


def test_prints_of_a_task_without_log_stdout_stay_on_stdout(executor, caplog, capsys):
    caplog.set_level(logging.INFO)

    @task(log_stdout=True)
    def captured():
        print("into the log")

    @task
    def plain():
        print("onto stdout")

    with Flow("mixed-prints") as flow:
        plain(upstream_tasks=[captured()])
    flow.run(executor=executor)
    assert [r.getMessage() for r in task_records(caplog, "mixed-prints")] == ["into the log"]
    out = capsys.readouterr().out
    assert "onto stdout" in out and "into the log" not in out


def test_log_level_argument_filters_debug_records(executor, caplog):
    caplog.set_level(logging.DEBUG)
    with Flow("levels") as flow:
        chatty(3)

    flow.run(executor=executor, log_level="DEBUG")
    debug = [r.getMessage() for r in task_records(caplog, "levels") if r.levelno == logging.DEBUG]
    assert debug == ["detail of 3"]
    assert task_lines(list_runs()[0]["tasks"]["chatty-1"]["logs"]) == [
        "processing 3", "detail of 3", "careful with 3"]

    caplog.clear()
    flow.run(executor=executor, log_level="WARNING")
    assert [r.getMessage() for r in task_records(caplog, "levels")] == ["careful with 3"]
    assert task_lines(list_runs()[0]["tasks"]["chatty-1"]["logs"]) == ["careful with 3"]


def test_log_level_applies_to_one_run_only(executor, caplog):
    caplog.set_level(logging.DEBUG)
    with Flow("level-per-run") as flow:
        chatty(6)
    flow.run(executor=executor, log_level="DEBUG")
    caplog.clear()
    flow.run(executor=executor)
    assert [r.getMessage() for r in task_records(caplog, "level-per-run")] == [
        "processing 6", "careful with 6"]


def test_logging_level_environment_variable(executor, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PREFECT_DASK_LOGGING_LEVEL", "warning")
    with Flow("env-level") as flow:
        chatty(4)
    flow.run(executor=executor)
    assert [r.getMessage() for r in task_records(caplog, "env-level")] == ["careful with 4"]


def test_get_logger_outside_a_task_is_the_package_logger():
    assert get_logger().logger is logging.getLogger("prefect_dask")
    assert get_logger("mine").logger is logging.getLogger("prefect_dask.mine")


# -- notifications ------------------------------------------------------------------

@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def failing_server():
    s = Server(status=500)
    yield s
    s.close()


@pytest.fixture
def closed_url():
    """A URL on 127.0.0.1 where nothing listens."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/hook"


FIELDS = {"flow", "task", "state", "message", "run_id"}


def test_webhook_on_a_task_posts_every_transition(executor, server):
    @task(state_handlers=[webhook_notifier(server.url + "/hook")])
    def work():
        return 1

    with Flow("notify") as flow:
        work()
    state = flow.run(executor=executor)
    assert isinstance(state, Success)
    run_id = list_runs()[0]["run_id"]
    assert [p["path"] for p in server.posts] == ["/hook", "/hook"]
    assert {p["content_type"] for p in server.posts} == {"application/json"}
    assert server.payloads == [
        {"flow": "notify", "task": "work", "state": "Running", "message": "Starting task run.",
         "run_id": run_id},
        {"flow": "notify", "task": "work", "state": "Success", "message": "Task run succeeded.",
         "run_id": run_id},
    ]


def test_webhook_on_a_flow(executor, server):
    with Flow("notify-flow", state_handlers=[webhook_notifier(server.url)]) as flow:
        task(lambda: 1, name="one")()
    flow.run(executor=executor)
    assert [{k: p[k] for k in ("flow", "task", "state", "message")} for p in server.payloads] == [
        {"flow": "notify-flow", "task": None, "state": "Running", "message": "Running flow."},
        {"flow": "notify-flow", "task": None, "state": "Success",
         "message": "All reference tasks succeeded."},
    ]
    assert all(set(p) == FIELDS for p in server.payloads)


def test_webhook_on_a_flow_carries_the_run_id(executor, server):
    with Flow("notify-flow-id", state_handlers=[webhook_notifier(server.url)]) as flow:
        task(lambda: 1, name="one")()
    flow.run(executor=executor)
    run_id = list_runs()[0]["run_id"]
    assert [p["run_id"] for p in server.payloads] == [run_id, run_id]


def test_only_states_filters_and_names_the_mapped_child(executor, server):
    notify = webhook_notifier(server.url, only_states=[states.Failed])

    @task(state_handlers=[notify])
    def work(x):
        if x == 2:
            raise ValueError("two")
        return x

    @task(state_handlers=[notify])
    def after(xs):
        return xs

    with Flow("notify-failed") as flow:
        after(work.map([1, 2, 3]))
    state = flow.run(executor=executor)
    assert isinstance(state, Failed)
    run_id = list_runs()[0]["run_id"]
    assert sorted(server.payloads, key=lambda p: p["task"]) == [
        {"flow": "notify-failed", "task": "after", "state": "TriggerFailed",
         "message": 'Trigger was "all_successful" but some of the upstream tasks failed.',
         "run_id": run_id},
        {"flow": "notify-failed", "task": "work[1]", "state": "Failed",
         "message": "Error during execution of task: ValueError('two')", "run_id": run_id},
    ]


def test_slack_payload_shape(executor, server):
    @task(state_handlers=[slack_notifier(server.url + "/services/T/B/X",
                                         only_states=[states.Failed])])
    def work():
        raise signals.FAIL("disk full")

    with Flow("notify-slack", state_handlers=[slack_notifier(server.url,
                                                             only_states=[states.Failed])]) as flow:
        work()
    flow.run(executor=executor)
    assert [p["path"] for p in server.posts] == ["/services/T/B/X", "/"]
    task_post, flow_post = server.payloads
    for post in (task_post, flow_post):
        assert isinstance(post["text"], str)
        (attachment,) = post["attachments"]
        for f in attachment["fields"]:
            assert set(f) == {"title", "value", "short"} and isinstance(f["value"], str)
    assert "work" in task_post["text"] and "notify-slack" in task_post["text"] \
        and "Failed" in task_post["text"]
    fields = {f["title"]: f["value"] for f in task_post["attachments"][0]["fields"]}
    assert fields["state"] == "Failed" and fields["message"] == "disk full"
    assert fields["task"] == "work" and fields["flow"] == "notify-slack"
    assert "notify-slack" in flow_post["text"] and "Failed" in flow_post["text"]


def test_a_500_is_a_warning_and_never_changes_the_state(executor, failing_server, caplog):
    caplog.set_level(logging.WARNING)

    @task(state_handlers=[webhook_notifier(failing_server.url + "/down")])
    def work():
        return 5

    with Flow("notify-500", state_handlers=[webhook_notifier(failing_server.url)]) as flow:
        w = work()
    state = flow.run(executor=executor)
    assert type(state) is Success and state.message == "All reference tasks succeeded."
    assert type(state.result[w]) is Success and state.result[w].result == 5
    assert state.result[w].message == "Task run succeeded."
    assert len(failing_server.posts) == 4                   # the server did get every post
    warnings = [r for r in caplog.records if r.name == "prefect_dask.notify"]
    assert len(warnings) == 4 and all(r.levelno == logging.WARNING for r in warnings)
    assert any(f"{failing_server.url}/down failed" in r.getMessage() and "500" in r.getMessage()
               for r in warnings)


def test_a_closed_port_is_a_warning_and_never_changes_the_state(executor, closed_url, caplog):
    caplog.set_level(logging.WARNING)

    @task(state_handlers=[webhook_notifier(closed_url, timeout=2)])
    def work():
        raise ValueError("real failure")

    @task(state_handlers=[slack_notifier(closed_url, timeout=2)])
    def fine():
        return "ok"

    with Flow("notify-closed", state_handlers=[webhook_notifier(closed_url)]) as flow:
        w, f = work(), fine()
    state = flow.run(executor=executor)
    assert type(state) is Failed and state.message == "Some reference tasks failed."
    assert type(state.result[w]) is Failed
    assert state.result[w].message == "Error during execution of task: ValueError('real failure')"
    assert type(state.result[f]) is Success and state.result[f].result == "ok"
    warnings = [r for r in caplog.records if r.name == "prefect_dask.notify"]
    assert len(warnings) == 6
    assert all(r.levelno == logging.WARNING and closed_url in r.getMessage() for r in warnings)


@pytest.mark.parametrize("make", [webhook_notifier, slack_notifier])
def test_http_and_https_urls_are_accepted_without_any_request(make):
    assert callable(make("https://hooks.example.invalid/services/T/B/X"))
    assert callable(make("http://127.0.0.1:9/hook"))


@pytest.mark.parametrize("make", [webhook_notifier, slack_notifier])
@pytest.mark.parametrize("url", ["ftp://example.com/hook", "127.0.0.1:8080/hook", "", None])
def test_a_url_that_is_not_http_is_refused_at_construction(make, url):
    with pytest.raises(ValueError, match=r"the URL must start with http:// or https://"):
        make(url)
