"""The task library, part 2 (issue 12 item 4): templates, local secrets, SQLite, file
tasks, ``SlackTask`` (to a real HTTP server on 127.0.0.1), ``EmailTask`` (to a real SMTP
server on 127.0.0.1, plain, SMTPS and STARTTLS) and ``slack_notifier`` in Prefect 1's
forms.  Expected values were checked by running the same programs under Prefect 1.4.1.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import zipfile

import pytest

from prefect_dask import Flow, Parameter, context, slack_notifier, task, unmapped
from prefect_dask.results import LocalResult
from prefect_dask.secrets import Secret
from prefect_dask.states import Failed, Success
from prefect_dask.tasks.database.sqlite import SQLiteQuery, SQLiteScript
from prefect_dask.tasks.files.compression import Unzip, Zip
from prefect_dask.tasks.files.operations import Copy, Glob, Move, Remove
from prefect_dask.tasks.notifications.email_task import EmailTask
from prefect_dask.tasks.notifications.slack_task import SlackTask
from prefect_dask.tasks.secrets import EnvVarSecret, PrefectSecret
from prefect_dask.tasks.templates import JinjaTemplate, StringFormatter

from local_servers import Server, SMTPServer


def results(state, *tasks):
    return [state.result[t].result for t in tasks]


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


# -- templates ------------------------------------------------------------------------

def test_string_formatter_sees_inputs_and_the_run_context(any_executor):
    hello = StringFormatter(template="{greeting}, {name}! ({flow_name} {map_index})")
    with Flow("templates") as flow:
        name = Parameter("name", default="ann")
        one = hello(greeting="hi", name=name)
        many = hello.map(greeting=["a", "b"], name=unmapped(name))
        other = StringFormatter()(template="{x}-{x}", x=3)
    state = flow.run(executor=any_executor)
    assert results(state, one, many, other) == [
        "hi, ann! (templates None)", ["a, ann! (templates 0)", "b, ann! (templates 1)"], "3-3"]


def test_string_formatter_missing_name_says_which(executor):
    with Flow("template-missing") as flow:
        bad = StringFormatter(name="greet", template="{nobody}")()
    message = flow.run(executor=executor).result[bad].message
    assert "Task 'greet': the template names 'nobody'" in message and "nobody=..." in message


def test_jinja_template(executor):
    page = JinjaTemplate(template="{% for x in xs %}{{ x * 2 }} {% endfor %}in {{ flow_name }}")
    with Flow("jinja") as flow:
        out = page(xs=[1, 2])
        override = page(template="{{ a|upper }}", a="x")
    assert results(flow.run(executor=executor), out, override) == ["2 4 in jinja", "X"]


# -- secrets ------------------------------------------------------------------------

def test_prefect_secret_from_the_run_context(any_executor):
    with Flow("secrets-ctx") as flow:
        token = PrefectSecret("TOKEN")()
        listed = PrefectSecret("LIST")()
        renamed = PrefectSecret()(name="TOKEN")
    state = flow.run(executor=any_executor,
                     context={"secrets": {"TOKEN": "abc", "LIST": "[1, 2]"}})
    assert results(state, token, listed, renamed) == ["abc", [1, 2], "abc"]
    assert token.name == "TOKEN"


def test_prefect_secret_from_context_around_the_run(executor):
    with Flow("secrets-with") as flow:
        token = PrefectSecret("TOKEN")()
    with context(secrets={"TOKEN": {"user": "u"}}):
        state = flow.run(executor=executor)
    assert state.result[token].result == {"user": "u"}


ENV_SECRETS_SCRIPT = """
import json, sys
from prefect_dask import Flow
from prefect_dask.tasks.secrets import PrefectSecret
with Flow("secrets-env") as flow:
    got = [PrefectSecret(n)() for n in ("NUM", "JS", "B", "S", "Mixed_Case", "NOT_SET_TASKLIB")]
if __name__ == "__main__":   # process-pool workers import this file
    state = flow.run(executor=sys.argv[1])
    print(json.dumps([[type(state.result[t]).__name__, repr(state.result[t].result)]
                      for t in got]))
"""


@pytest.mark.parametrize("executor_name", ["local", "threads", "processes"])
def test_prefect_secret_from_prefect1_environment_variables(executor_name, tmp_path):
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "env_secrets.py").write_text(ENV_SECRETS_SCRIPT)
    env = {**os.environ, **{f"PREFECT__CONTEXT__SECRETS__{name}": text for name, text in {
        "NUM": "42", "JS": '{"a": [1, 2]}', "B": "true", "S": "abc", "Mixed_Case": "kept"}.items()}}
    out = subprocess.run([sys.executable, "env_secrets.py", executor_name], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got[:5] == [["Success", "42"], ["Success", "{'a': [1, 2]}"], ["Success", "True"],
                       ["Success", "'abc'"], ["Success", "'kept'"]]
    assert got[5][0] == "Failed"
    assert 'NOT_SET_TASKLIB" was not found' in got[5][1]
    assert "PREFECT__CONTEXT__SECRETS__NOT_SET_TASKLIB" in got[5][1]


@pytest.mark.parametrize("kept_in", ["files", "run record"])
def test_secret_values_are_never_logged_checkpointed_or_recorded(executor, tmp_path, caplog, home,
                                                                 monkeypatch, kept_in):
    from prefect_dask import PrefectResult

    value = "s3cr3t-value-tasklib"
    store = tmp_path / "results"
    result = LocalResult(store) if kept_in == "files" else PrefectResult()
    caplog.set_level(logging.DEBUG, logger="prefect_dask")

    @task
    def use(token):
        return len(token)

    with Flow("secrets-kept", result=result) as flow:
        secret = PrefectSecret("TOKEN")()
        env = EnvVarSecret("TASKLIB_ENV_TOKEN")()
        n = use(secret)
    monkeypatch.setenv("TASKLIB_ENV_TOKEN", value)
    with context(secrets={"TOKEN": value}):
        state = flow.run(executor=executor, log_level="DEBUG")
    assert results(state, secret, env, n) == [value, value, len(value)]
    assert state.result[n].location and not state.result[secret].location
    assert value not in caplog.text
    leaked = [p for p in list(store.rglob("*")) + list(home.rglob("*"))
              if p.is_file() and value.encode() in p.read_bytes()]
    assert leaked == []


def test_secret_tasks_refuse_options_that_write_them(executor):
    from datetime import timedelta

    for option in ({"result": LocalResult()}, {"checkpoint": True},
                   {"cache_for": timedelta(hours=1)}, {"target": "x.txt"}):
        (key,) = option
        with pytest.raises(ValueError, match=f"Secret task 'TOKEN': {key}=.* would write the "
                                             "secret's value to disk"):
            PrefectSecret("TOKEN", **option)


def test_secret_get_while_building_a_flow_is_an_error():
    with pytest.raises(ValueError, match="secrets should only be retrieved during a flow run"):
        with Flow("build"):
            Secret("X").get()
    with context(secrets={"X": 1}):
        assert Secret("X").exists() and Secret("X").get() == 1
    assert not Secret("X").exists()


def test_env_var_secret(executor, monkeypatch):
    monkeypatch.setenv("TASKLIB_PORT", "8080")
    with Flow("env-secret") as flow:
        port = EnvVarSecret("TASKLIB_PORT", cast=int)()
        unset = EnvVarSecret("TASKLIB_UNSET")()
        strict = EnvVarSecret("TASKLIB_UNSET", raise_if_missing=True)()
    state = flow.run(executor=executor)
    assert results(state, port, unset) == [8080, None]
    assert "environment variable not set: TASKLIB_UNSET" in state.result[strict].message


# -- SQLite -----------------------------------------------------------------------------

def test_sqlite_script_and_queries_on_a_database_file(any_executor, tmp_path):
    db = str(tmp_path / "shop.db")
    setup = SQLiteScript(db=db, script="CREATE TABLE items (name TEXT, qty INT);"
                                       "INSERT INTO items VALUES ('pen', 3);")
    query = SQLiteQuery(db=db)
    with Flow("sqlite") as flow:
        made = setup()
        added = query(query="INSERT INTO items VALUES (?, ?)", data=("ink", 5),
                      upstream_tasks=[made])
        rows = query(query="SELECT name, qty FROM items ORDER BY name",
                     upstream_tasks=[added])
        bad = query(query="SELECT * FROM items WHERE qty > ?", upstream_tasks=[made])
    state = flow.run(executor=any_executor)
    assert results(state, made, added, rows) == [None, [], [("ink", 5), ("pen", 3)]]
    assert "has '?' placeholders but no data" in state.result[bad].message
    with sqlite3.connect(db) as conn:       # committed: another connection sees the insert
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (2,)


def test_sqlite_missing_arguments_name_the_task(executor):
    with Flow("sqlite-missing") as flow:
        no_db = SQLiteQuery(name="q", query="SELECT 1")()
        no_script = SQLiteScript(name="s", db=":memory:")()
    state = flow.run(executor=executor)
    assert "Task 'q': the db must be specified; pass SQLiteQuery(db=" in state.result[no_db].message
    assert "Task 's': the query script string must be specified" in state.result[no_script].message


# -- files ------------------------------------------------------------------------------

def test_file_tasks(any_executor, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("B")
    with Flow("files") as flow:
        copied = Copy(source_path=src / "a.txt")(target_path=tmp_path / "a-copy.txt")
        tree = Copy()(source_path=src, target_path=tmp_path / "tree")
        moved = Move(source_path=tmp_path / "a-copy.txt", target_path=tmp_path / "moved.txt")(
            upstream_tasks=[copied])
        found = Glob(path=tmp_path / "tree", pattern="**/*.txt")(upstream_tasks=[tree])
        zipped = Zip(source_path=[src / "a.txt", src / "sub"], zip_path=tmp_path / "a.zip")()
        unzipped = Unzip(zip_path=tmp_path / "a.zip")(extract_dir=tmp_path / "out",
                                                      upstream_tasks=[zipped])
        removed = Remove(path=tmp_path / "moved.txt")(upstream_tasks=[moved])
    state = flow.run(executor=any_executor)
    assert state.is_successful(), state.result
    assert results(state, copied, moved, unzipped) == \
        [tmp_path / "a-copy.txt", tmp_path / "moved.txt", tmp_path / "out"]
    assert sorted(p.relative_to(tmp_path / "tree").as_posix()
                  for p in state.result[found].result) == ["a.txt", "sub/b.txt"]
    assert (tmp_path / "out" / "a.txt").read_text() == "A"
    assert (tmp_path / "out" / "sub" / "b.txt").read_text() == "B"
    assert not (tmp_path / "moved.txt").exists() and state.result[removed].result is None


def test_file_task_errors_name_the_task_and_the_fix(executor, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "not.zip").write_text("plain")
    with Flow("files-bad") as flow:
        nothing = Copy(name="cp")(target_path=tmp_path / "t")
        missing = Move(name="mv")(source_path=tmp_path / "nope", target_path=tmp_path / "t")
        full = Remove()(path=tmp_path / "full")
        not_zip = Unzip(name="uz")(zip_path=tmp_path / "not.zip")
    state = flow.run(executor=executor)
    assert "Task 'cp': no `source_path` provided; pass Copy(source_path=...)" \
        in state.result[nothing].message
    assert "Task 'mv': source_path" in state.result[missing].message and \
        "not found" in state.result[missing].message
    assert isinstance(state.result[full].result, OSError)    # a full directory, as Prefect 1
    assert "Task 'uz': zip_path" in state.result[not_zip].message
    with pytest.raises(ValueError, match="compression method 'rar' is not supported"):
        Zip(compression_method="rar")
    assert zipfile.is_zipfile(tmp_path / "not.zip") is False


# -- Slack ------------------------------------------------------------------------------

def test_slack_task_posts_to_the_webhook(any_executor, server):
    with Flow("slack-task") as flow:
        text = SlackTask(message="deployed")(webhook_url=server.url + "/services/T/B/X")
        blocks = SlackTask()(message={"blocks": [{"type": "section"}]},
                             webhook_url=server.url + "/hook2")
        from_secret = SlackTask(message="via secret")()
    state = flow.run(executor=any_executor,
                     context={"secrets": {"SLACK_WEBHOOK_URL": server.url + "/from-secret"}})
    assert state.is_successful(), state.result
    assert sorted((p["path"], str(p["json"])) for p in server.posts) == [
        ("/from-secret", str({"text": "via secret"})),
        ("/hook2", str({"blocks": [{"type": "section"}]})),
        ("/services/T/B/X", str({"text": "deployed"}))]
    assert all(r is None for r in results(state, text, blocks, from_secret))


def test_slack_task_failures(executor, server):
    refusing = Server(status=404)
    try:
        with Flow("slack-bad") as flow:
            refused = SlackTask(name="post", message="x")(
                webhook_secret="HOOK")
            missing = SlackTask(name="nosecret", message="x")()
        state = flow.run(executor=executor, context={"secrets": {"HOOK": refusing.url}})
    finally:
        refusing.close()
    s = state.result[refused]
    assert isinstance(s, Failed)
    assert "Task 'post': Slack refused the message: the webhook in secret 'HOOK' answered 404" \
        in s.message and refusing.url not in s.message
    assert 'Local Secret "SLACK_WEBHOOK_URL" was not found' in state.result[missing].message


# -- slack_notifier in Prefect 1's forms ---------------------------------------------------

def test_slack_notifier_used_directly_reads_the_secret(executor, server):
    @task(state_handlers=[slack_notifier])
    def work():
        return 1

    with Flow("notifier-direct") as flow:
        work()
    with context(secrets={"SLACK_WEBHOOK_URL": server.url + "/direct"}):
        state = flow.run(executor=executor)
    assert state.is_successful()
    assert [p["path"] for p in server.posts] == ["/direct", "/direct"]     # Running, Success
    assert ["Running" in p["text"] for p in server.payloads] == [True, False]


def test_slack_notifier_on_a_flow_reads_the_runs_secrets(executor, server):
    seen = []

    def sees_context(flow, old, new):
        seen.append(context.get("team"))
        return new

    with Flow("notifier-flow", state_handlers=[slack_notifier, sees_context]) as flow:
        task(lambda: 1, name="one")()
    state = flow.run(executor=executor, context={
        "team": "data", "secrets": {"SLACK_WEBHOOK_URL": server.url + "/flow"}})
    assert state.is_successful(), state.message
    assert [p["path"] for p in server.posts] == ["/flow", "/flow"]   # Running, Success
    assert "flow 'notifier-flow' is now Success" in server.payloads[-1]["text"]
    assert seen == ["data", "data"]        # flow handlers see flow.run(context=...), as in Prefect 1


def test_slack_notifier_configured_prefect1_forms(executor, server):
    only_failed = slack_notifier(only_states=[Failed], webhook_secret="MY_HOOK")
    not_running = functools.partial(slack_notifier, ignore_states=[Success],
                                    webhook_secret="MY_HOOK")

    @task(state_handlers=[only_failed, not_running])
    def boom():
        raise ValueError("no")

    @task(state_handlers=[not_running])
    def fine():
        return 1

    with Flow("notifier-configured") as flow:
        boom(), fine()
    state = flow.run(executor=executor, context={"secrets": {"MY_HOOK": server.url + "/h"}})
    texts = sorted(p["text"] for p in server.payloads)
    # boom: Failed (only_failed) + Running and Failed (not_running); fine: Running only
    assert [t.split(" is now ")[1] for t in texts if "'boom'" in t] == ["Failed", "Failed",
                                                                          "Running"]
    assert [t.split(" is now ")[1] for t in texts if "'fine'" in t] == ["Running"]
    assert state.is_failed()


def test_slack_notifier_without_its_secret_fails_the_task_saying_how(executor):
    @task(state_handlers=[slack_notifier])
    def work():
        return 1

    with Flow("notifier-nosecret") as flow:
        w = work()
    s = flow.run(executor=executor).result[w]
    assert isinstance(s, Failed)
    assert "slack_notifier on" in s.message and "no webhook URL" in s.message
    assert "SLACK_WEBHOOK_URL" in s.message and "Or give the URL itself" in s.message


# -- email ------------------------------------------------------------------------------

@pytest.fixture
def trust(monkeypatch):
    def use(smtp):
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))
    return use


def test_email_task_insecure_with_attachment(any_executor, tmp_path):
    smtp = SMTPServer(tmp_path)
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    try:
        mail = EmailTask(subject="Nightly", email_from="bot@example.test",
                         smtp_server="127.0.0.1", smtp_port=smtp.port, smtp_type="INSECURE")
        with Flow("email-plain") as flow:
            mail(msg="<b>done</b>", msg_plain="done", email_to="ann@example.test",
                 email_to_cc="cc@example.test", email_to_bcc="hidden@example.test",
                 attachments=[str(report)])
        state = flow.run(executor=any_executor)
    finally:
        smtp.close()
    assert state.is_successful(), state.result
    ((sender, rcpts, message),) = smtp.messages
    assert sender == "bot@example.test"
    assert sorted(rcpts) == ["ann@example.test", "cc@example.test", "hidden@example.test"]
    assert message["Subject"] == "Nightly" and message["To"] == "ann@example.test"
    assert message["Bcc"] is None                               # never sent in the headers
    parts = {p.get_content_type(): p for p in message.walk()}
    assert parts["text/plain"].get_payload(decode=True) == b"done"
    assert parts["text/html"].get_payload(decode=True) == b"<b>done</b>"
    assert parts["application/octet-stream"].get_filename() == "report.csv"
    assert parts["application/octet-stream"].get_payload(decode=True) == b"a,b\n1,2\n"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # SMTPS: it is TLS
@pytest.mark.parametrize("smtp_type", ["SSL", "STARTTLS"])
def test_email_task_over_tls_logs_in_with_local_secrets(executor, tmp_path, trust, smtp_type):
    smtp = SMTPServer(tmp_path, tls=smtp_type, user="bot", password="pw-tasklib")
    trust(smtp)
    try:
        with Flow("email-tls") as flow:
            sent = EmailTask(subject="hi", msg="body", email_to="ann@example.test",
                             smtp_server="127.0.0.1", smtp_port=smtp.port, smtp_type=smtp_type)()
        state = flow.run(executor=executor, context={"secrets": {
            "EMAIL_USERNAME": "bot", "EMAIL_PASSWORD": "pw-tasklib"}})
        wrong = flow.run(executor=executor, context={"secrets": {
            "EMAIL_USERNAME": "bot", "EMAIL_PASSWORD": "nope"}})
        unset = flow.run(executor=executor)
    finally:
        smtp.close()
    assert state.is_successful(), state.result[sent].message
    assert smtp.logins == ["bot"] and len(smtp.messages) == 1
    assert isinstance(wrong.result[sent].result, Exception) and "pw-tasklib" not in \
        wrong.result[sent].message
    assert 'Local Secret "EMAIL_USERNAME" was not found' in unset.result[sent].message


def test_email_task_argument_errors(executor):
    with Flow("email-bad") as flow:
        kind = EmailTask(name="m", email_to="a@b.test", smtp_type="TLS9")()
        nobody = EmailTask(name="n", smtp_type="INSECURE")()
    state = flow.run(executor=executor)
    assert "Task 'm': smtp_type='TLS9' is not supported; use one of SSL, STARTTLS, INSECURE" \
        in state.result[kind].message
    assert "Task 'n': no recipient; pass email_to=" in state.result[nobody].message
