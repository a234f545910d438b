"""Server mode (issue 7) through the real CLI: a real `chroma run` on loopback, a real nginx
in front of it checking a token (http and https), the real corpus and the real model.

nginx is Debian's package; without it the proxy tests are skipped, unless
MHQA_REQUIRE_TOOLS=1 (CI), where they fail. The time bounds below are generous
upper bounds that prove "never hangs", not measurements (those are in bench/).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import CORPUS, ROOT
from servers import NginxNotFound, blackhole_port, chroma_server, find_nginx, free_port, nginx_proxy, silent_server

pytestmark = pytest.mark.server

TOKEN = "tok_" + secrets.token_hex(16)  # the maintainer's; the proxy matches it with a regex: letters, digits, _ only
READER = "rdr_" + secrets.token_hex(16)  # the reader token: only what ask, chat, faq, eval and status send
NEVER_HANGS = 10.0  # seconds; the product bound is 5 s from start to the error line

# Re-index scenario on the 3-PDF small corpus: the DMDD sheet is replaced by the OCD one.
ASK_DMDD, ASK_OCD = "dmdd age of onset", "what is ERP therapy"
DMDD, OCD = "nimh-dmdd.pdf", "nimh-ocd.pdf"
MORE = ("nimh-ptsd.pdf", "nimh-schizophrenia.pdf", "nimh-bipolar-disorder.pdf", "nimh-eating-disorders.pdf")


@dataclass
class Served:
    url: str
    collection: str

    @property
    def flags(self) -> list[str]:
        return ["--chroma-url", self.url, "--collection", self.collection]


def require_nginx() -> None:
    try:
        find_nginx()
    except NginxNotFound as exc:
        if os.environ.get("MHQA_REQUIRE_TOOLS") == "1":
            pytest.fail(f"MHQA_REQUIRE_TOOLS=1 but {exc}")
        pytest.skip(str(exc))


def one_line_error(run, *fragments: str) -> None:
    """Exit 3, a single `mhqa: ...` line on stderr naming the problem, no traceback, no token."""
    assert run.code == 3, (run.code, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mhqa: "), run.stderr
    for fragment in fragments:
        assert fragment in lines[0], run.stderr
    assert "Traceback" not in run.stderr and TOKEN not in run.stderr + run.stdout and READER not in run.stderr + run.stdout


def citations(answer: dict) -> list[tuple[str, int]]:
    return [(c["source"], c["page"]) for c in answer["citations"]]


def cited_files(answer: dict) -> set[str]:
    return {c["source"] for c in answer["citations"]}


def server_collections(url: str) -> list[str]:
    response = httpx.get(f"{url}/api/v2/tenants/default_tenant/databases/default_database/collections", timeout=5)
    response.raise_for_status()
    return [c["name"] for c in response.json()]


def wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def spawn(base_env: dict, *args, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mhqa", *map(str, args)],
        cwd=ROOT, env={**base_env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


# --- servers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    with chroma_server(tmp_path_factory.mktemp("chroma-data")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(chroma, tmp_path_factory):
    require_nginx()
    with nginx_proxy(chroma.port, TOKEN, tmp_path_factory.mktemp("nginx-http"), reader_token=READER) as px:
        yield px


@pytest.fixture(scope="module")
def tls_proxy(chroma, tmp_path_factory):
    require_nginx()
    with nginx_proxy(chroma.port, TOKEN, tmp_path_factory.mktemp("nginx-https"), tls=True) as px:
        yield px


@pytest.fixture(scope="module")
def served(chroma, mhqa) -> Served:
    """The shipped corpus indexed into the server through the CLI."""
    target = Served(chroma.url, "nimh")
    result = mhqa("index", "--corpus", CORPUS, *target.flags)
    assert result.code == 0, result.stderr
    return target


@pytest.fixture(scope="module")
def core_questions(labelled, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("core") / "core.txt"
    path.write_text("\n".join(row["question"] for row in labelled if row.get("core")) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def embedded_dmdd(mhqa, corpus_index) -> dict:
    """The embedded index's answer to ASK_DMDD (not a core question since the core set was cut to held-out rows)."""
    [answer] = mhqa("ask", "--json", ASK_DMDD, "--index", corpus_index).json_lines()
    return answer


@pytest.fixture(scope="module")
def embedded_core(mhqa, corpus_index, core_questions) -> list[dict]:
    result = mhqa("ask", "--json", "--file", core_questions, "--index", corpus_index)
    assert result.code == 0, result.stderr
    return result.json_lines()


# --- the same answers as the embedded index ----------------------------------------------------


def test_core_questions_cite_the_same_pages_as_the_embedded_index(mhqa, served, core_questions, embedded_core, labelled):
    result = mhqa("ask", "--json", "--file", core_questions, *served.flags)
    assert result.code == 0, result.stderr
    remote = result.json_lines()
    assert len(remote) == len(embedded_core) == sum(1 for row in labelled if row.get("core"))
    for here, there in zip(embedded_core, remote):
        assert there["question"] == here["question"]
        assert (there["status"], there["answer"], citations(there)) == (here["status"], here["answer"], citations(here))
    answered = [a for a in remote if a["status"] == "answered"]
    assert len(answered) >= len(remote) // 2  # the comparison is about real answers, not only refusals


def test_manifest_lives_on_the_server(mhqa, served, tmp_path):
    """A second maintainer's machine (empty cache) sees the index as up to date, without loading the model."""
    result = mhqa("index", "--corpus", CORPUS, *served.flags, env={"MHQA_CACHE": str(tmp_path / "other-machine")})
    assert result.code == 0, result.stderr
    assert "unchanged" in result.stdout and "added" not in result.stdout
    assert not (tmp_path / "other-machine" / "encoders").exists()


def test_status_and_chat_against_the_server_match_embedded(mhqa, served, corpus_index):
    reports = [mhqa("status", "--json", "--corpus", CORPUS, *where) for where in (["--index", corpus_index], served.flags)]
    assert [r.code for r in reports] == [0, 0], reports[1].stderr
    local, remote = (json.loads(r.stdout) for r in reports)
    assert remote["index"] == f"{served.url} (collection {served.collection})"
    assert remote["model"] == local["model"] and remote["chunking"] == local["chunking"]
    same = lambda documents: [{k: v for k, v in d.items() if k != "indexed_at"} for d in documents]  # noqa: E731
    assert same(remote["documents"]) == same(local["documents"]) and len(remote["documents"]) == 22
    chats = [mhqa("chat", "--no-passages", *where, input=f"{ASK_DMDD}\nHow common is PTSD?\nquit\n") for where in (["--index", corpus_index], served.flags)]
    assert [c.code for c in chats] == [0, 0], chats[1].stderr
    assert chats[1].stdout == chats[0].stdout and "nimh-ptsd.pdf" in chats[1].stdout


def test_faq_and_eval_against_the_server_match_embedded(mhqa, served, corpus_index, tmp_path, labelled):
    questions = tmp_path / "faq.txt"
    questions.write_text("## Mood\nWhat is DBT?\nHow common is PTSD?\n", encoding="utf-8")
    sheets = [mhqa("faq", questions, "--format", "md", "--date", "2026-01-01", *where) for where in (["--index", corpus_index], served.flags)]
    assert [s.code for s in sheets] == [0, 0], sheets[1].stderr
    assert sheets[1].stdout == sheets[0].stdout and "nimh-ptsd.pdf" in sheets[1].stdout
    dataset = tmp_path / "core.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in labelled if row.get("core")), encoding="utf-8")
    reports = [mhqa("eval", dataset, "--json", *where) for where in (["--index", corpus_index], served.flags)]
    assert [r.code for r in reports] == [0, 0], reports[1].stderr
    assert json.loads(reports[1].stdout) == json.loads(reports[0].stdout)


def test_every_command_has_the_server_options(mhqa):
    from mhqa.cli import app

    names = [command.name or command.callback.__name__ for command in app.registered_commands]
    assert {"index", "ask"} <= set(names)
    for name in names:
        result = mhqa(name, "--help", env={"MHQA_CHROMA_TOKEN": TOKEN, "COLUMNS": "200"})
        assert result.code == 0, result.stderr
        for option in ("--chroma-url", "--chroma-token", "--chroma-ca", "--collection"):
            assert option in result.stdout, f"`mhqa {name}` lacks {option}"
        assert TOKEN not in result.stdout


# --- re-indexing on the server -----------------------------------------------------------------


def test_asks_during_a_reindex_each_see_one_whole_state(mhqa, base_env, chroma, small_corpus):
    target = Served(chroma.url, "live")
    assert mhqa("index", "--corpus", small_corpus, *target.flags).code == 0
    questions = small_corpus.parent / "questions.txt"
    questions.write_text(f"{ASK_DMDD}\n{ASK_OCD}\n", encoding="utf-8")
    (small_corpus / DMDD).unlink()
    shutil.copy(CORPUS / OCD, small_corpus / OCD)

    writer = spawn(base_env, "index", "--corpus", small_corpus, *target.flags)
    wait_for(lambda: "live-writer" in server_collections(chroma.url) or writer.poll() is not None, "the writer's lease")
    states, rounds = [], 0
    while True:
        finished = writer.poll() is not None
        readers = [spawn(base_env, "ask", "--json", "--file", questions, *target.flags) for _ in range(4)]
        for reader in readers:
            out, err = reader.communicate(timeout=300)
            assert reader.returncode == 0, err
            dmdd, ocd = [json.loads(line) for line in out.splitlines()]
            old, new = DMDD in cited_files(dmdd), OCD in cited_files(ocd)
            assert old != new, (dmdd, ocd)  # before the re-index or after it, never a mix
            assert not (new and DMDD in cited_files(dmdd) | cited_files(ocd))  # a removed file is never cited
            states.append("new" if new else "old")
        rounds += 1
        if finished:
            break
    assert writer.wait() == 0, writer.stderr.read()
    assert rounds >= 2  # at least one round of readers ran while the writer was writing
    assert states[-4:] == ["new"] * 4


def test_a_client_links_the_parts_it_has_after_a_reindex(mhqa, chroma, small_corpus, cache_dir, tmp_path):
    """A client (its own cache) derives the BM25 parts of a generation from the server's chunks once;
    after a one-file re-index it links the unchanged documents' parts and derives only the new one."""
    target = Served(chroma.url, "linked")
    assert mhqa("index", "--corpus", small_corpus, *target.flags).code == 0
    client_cache = tmp_path / "client-cache"
    client_cache.mkdir()
    (client_cache / "encoders").symlink_to(cache_dir / "encoders")  # the same encoder, not the maintainer's parts
    client = {"MHQA_CACHE": str(client_cache)}

    def parts_by_generation() -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for part in (client_cache / "lexical").rglob("parts/*/*.npz"):
            generation = part.parent.parent.parent.name
            found.setdefault(generation, {})[part.stem] = part.stat().st_ino
        return found

    assert mhqa("ask", ASK_DMDD, *target.flags, env=client).code == 0
    ((first, before),) = parts_by_generation().items()
    assert len(before) == 3
    (small_corpus / DMDD).unlink()
    shutil.copy(CORPUS / OCD, small_corpus / OCD)
    assert mhqa("index", "--corpus", small_corpus, *target.flags).code == 0
    answer = json.loads(mhqa("ask", ASK_OCD, "--json", *target.flags, env=client).stdout)
    assert OCD in cited_files(answer)
    after = {name: found for name, found in parts_by_generation().items() if name != first}
    ((_, now),) = after.items()
    kept = set(before) & set(now)
    assert len(kept) == 2 and all(now[sha] == before[sha] for sha in kept)  # linked, not derived again
    assert len(now) == 3 and len(set(now) - set(before)) == 1  # only the new document's part is new


def test_a_killed_reindex_leaves_the_previous_generation(mhqa, base_env, chroma, small_corpus):
    target = Served(chroma.url, "crash")
    assert mhqa("index", "--corpus", small_corpus, *target.flags).code == 0
    before = mhqa("ask", "--json", ASK_DMDD, *target.flags)
    assert before.code == 0 and DMDD in cited_files(before.json_lines()[0])
    current = set(server_collections(chroma.url))
    (small_corpus / DMDD).unlink()
    for name in (OCD, *MORE):  # enough new pages that the run is still embedding when it is killed
        shutil.copy(CORPUS / name, small_corpus / name)

    # The writer stops once its first records are on the server (tests/kill_hooks.py): a run fast
    # enough to finish before the kill would otherwise publish, and the test would prove nothing.
    marker = small_corpus.parent / "writer-paused.json"
    hooks = Path(__file__).with_name("kill_hooks.py")
    writer = subprocess.Popen([sys.executable, str(hooks), "vectors being written", str(marker), "index", "--corpus", str(small_corpus), *target.flags],
                              cwd=ROOT, env=base_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(marker.exists, "the writer paused mid-write")
    assert writer.poll() is None
    # The next generation is being written on the server: a second writer is turned away, then the first is killed.
    assert any(n.startswith("crash-g") and n not in current for n in server_collections(chroma.url))
    second = mhqa("index", "--corpus", small_corpus, *target.flags, "--wait", "1")
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    one_line_error(second, "another `mhqa index` is writing", "waited 1 s")

    after_kill = mhqa("ask", "--json", ASK_DMDD, *target.flags)
    assert after_kill.code == 0 and citations(after_kill.json_lines()[0]) == citations(before.json_lines()[0])
    # The next run takes over the dead run's lease at once (its process is gone) and finishes the job.
    rerun = mhqa("index", "--corpus", small_corpus, *target.flags, "--wait", "1")
    assert rerun.code == 0, rerun.stderr
    now = mhqa("ask", "--json", "--file", "-", *target.flags, input=f"{ASK_DMDD}\n{ASK_OCD}\n").json_lines()
    assert DMDD not in cited_files(now[0]) | cited_files(now[1]) and OCD in cited_files(now[1])
    left = [n for n in server_collections(chroma.url) if n.startswith("crash-g")]
    assert len(left) == 2  # the killed run's collection was collected: current and previous remain


# --- errors: one line, exit 3, never a hang ------------------------------------------------------


def test_a_stopped_server_fails_fast(mhqa, small_corpus, tmp_path):
    with chroma_server(tmp_path / "data") as server:
        target = Served(server.url, "soon-gone")
        assert mhqa("index", "--corpus", small_corpus, *target.flags).code == 0
        assert mhqa("ask", ASK_DMDD, *target.flags).code == 0
    for command in (["ask", ASK_DMDD], ["index", "--corpus", small_corpus]):
        started = time.monotonic()
        result = mhqa(*command, *target.flags)
        assert time.monotonic() - started < NEVER_HANGS
        one_line_error(result, server.url, "connection refused")


def test_an_unreachable_or_hung_server_fails_fast(mhqa):
    with blackhole_port() as unreachable, silent_server() as hung:
        for port, reason in ((unreachable, "no answer while connecting"), (hung, "did not answer in time")):
            started = time.monotonic()
            result = mhqa("ask", ASK_DMDD, "--chroma-url", f"http://127.0.0.1:{port}")
            assert time.monotonic() - started < NEVER_HANGS
            one_line_error(result, reason)


def test_a_server_that_hangs_after_connecting_is_bounded(tmp_path, monkeypatch):
    """Every call of the connected client is bounded too (CALL_TIMEOUT, shortened here from 60 s)."""
    from mhqa import server as server_mode
    from mhqa.errors import ServerUnavailable
    from mhqa.settings import load_settings

    monkeypatch.setattr(server_mode, "CALL_TIMEOUT", 2.0)
    with chroma_server(tmp_path / "data") as server:
        backend = server_mode.ServerBackend(load_settings({"chroma_url": server.url, "collection": "hangs-later"}, env={}))
        assert backend.read_pointer() is None  # connected: the pre-flight and the client's own requests are done
        server.pause()  # SIGSTOP: the port stays open, nothing answers
        try:
            started = time.monotonic()
            with pytest.raises(ServerUnavailable, match="did not answer in time"):
                backend.names()
            assert time.monotonic() - started < NEVER_HANGS
        finally:
            server.resume()


def test_no_index_on_the_server_yet(mhqa, chroma):
    result = mhqa("ask", ASK_DMDD, "--chroma-url", chroma.url, "--collection", "never-indexed")
    one_line_error(result, "no index at", "run `mhqa index` first")
    assert "never-indexed-meta" not in server_collections(chroma.url)  # a reader creates nothing


def test_an_index_made_with_another_model(mhqa, served, tmp_path):
    """The server's index was made with all-MiniLM-L6-v2; a client configured with another model refuses to use it."""
    from mhqa.settings import bundled_model_path

    bundled, other = bundled_model_path(), tmp_path / "other-model"
    shutil.copytree(bundled, other, ignore=shutil.ignore_patterns("model.safetensors", "*.onnx"))
    (other / "model.safetensors").symlink_to(bundled / "model.safetensors")
    # CLS pooling instead of mean pooling: the same weights give other sentence vectors.
    pooling = json.loads((other / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (other / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    result = mhqa("ask", ASK_DMDD, *served.flags, env={"MHQA_MODEL": str(other)})
    one_line_error(result, "built with the model")


def test_bad_server_settings_are_usage_errors(mhqa, tmp_path):
    for flags, fragment in (
        (["--chroma-url", f"https://maintainer:{TOKEN}@127.0.0.1:1"], "must not hold a user or password"),
        (["--chroma-url", "127.0.0.1:8000"], "must start with http:// or https://"),
        (["--chroma-url", "http://127.0.0.1:1", "--collection", "no spaces"], "collection must be"),
        (["--chroma-url", "https://127.0.0.1:1", "--chroma-ca", tmp_path / "missing.crt"], "cannot use the CA certificate"),
    ):
        result = mhqa("ask", ASK_DMDD, *flags)
        assert result.code == 2 and fragment in result.stderr and TOKEN not in result.stderr, result.stderr
    config = tmp_path / "mhqa.toml"
    config.write_text(f'chroma_url = "http://127.0.0.1:1"\nchroma_token = "{TOKEN}"\n', encoding="utf-8")
    result = mhqa("ask", ASK_DMDD, "--config", config)
    assert result.code == 2 and "keep the token out of files" in result.stderr and TOKEN not in result.stderr


# --- behind nginx: the token, TLS ------------------------------------------------------------------


def test_proxy_lets_the_right_token_through_only(mhqa, served, proxy, embedded_core, core_questions):
    flags = ["--chroma-url", proxy.url, "--collection", served.collection]
    by_env = mhqa("ask", "--json", "--file", core_questions, *flags, env={"MHQA_CHROMA_TOKEN": TOKEN})
    assert by_env.code == 0, by_env.stderr
    assert [citations(a) for a in by_env.json_lines()] == [citations(a) for a in embedded_core]
    by_flag = mhqa("ask", "--json", ASK_DMDD, *flags, "--chroma-token", TOKEN)
    assert by_flag.code == 0 and TOKEN not in by_flag.stdout + by_flag.stderr
    wrong = "tok_" + secrets.token_hex(16)
    refused = mhqa("ask", ASK_DMDD, *flags, env={"MHQA_CHROMA_TOKEN": wrong})
    one_line_error(refused, "refused the token")
    assert wrong not in refused.stderr
    one_line_error(mhqa("ask", ASK_DMDD, *flags), "requires a token")
    one_line_error(mhqa("index", "--corpus", CORPUS, *flags, "--chroma-token", wrong), "refused the token")


def test_https_proxy_with_the_team_ca(mhqa, served, tls_proxy, tmp_path, embedded_dmdd):
    flags = ["--chroma-url", tls_proxy.url, "--collection", served.collection]
    token = {"MHQA_CHROMA_TOKEN": TOKEN}
    expected = citations(embedded_dmdd)
    by_flag = mhqa("ask", "--json", ASK_DMDD, *flags, "--chroma-ca", tls_proxy.ca_path, env=token)
    by_env = mhqa("ask", "--json", ASK_DMDD, *flags, env={**token, "MHQA_CHROMA_CA": str(tls_proxy.ca_path)})
    config = tmp_path / "mhqa.toml"
    config.write_text(f'chroma_url = "{tls_proxy.url}"\ncollection = "{served.collection}"\nchroma_ca = "{tls_proxy.ca_path}"\n')
    by_config = mhqa("ask", "--json", ASK_DMDD, env=token, cwd=tmp_path)
    for run in (by_flag, by_env, by_config):
        assert run.code == 0, run.stderr
        assert citations(run.json_lines()[0]) == expected
    one_line_error(mhqa("ask", ASK_DMDD, *flags, env=token), "TLS failed", "--chroma-ca")
    plain = tls_proxy.url.replace("https://", "http://")
    one_line_error(mhqa("ask", ASK_DMDD, "--chroma-url", plain, env=token), "expects https")


def test_chroma_down_behind_the_proxy(mhqa, small_corpus, tmp_path):
    require_nginx()
    with chroma_server(tmp_path / "data") as server, nginx_proxy(server.port, TOKEN, tmp_path / "nginx") as px:
        server.stop()
        started = time.monotonic()
        result = mhqa("ask", ASK_DMDD, "--chroma-url", px.url, env={"MHQA_CHROMA_TOKEN": TOKEN})
        assert time.monotonic() - started < NEVER_HANGS
        one_line_error(result, "the Chroma server behind it does not")


def test_the_token_is_never_written(mhqa, chroma, tls_proxy, small_corpus, cache_dir, tmp_path):
    """Index and ask through the https proxy, then look for the token in every byte mhqa and Chroma wrote."""
    flags = ["--chroma-url", tls_proxy.url, "--collection", "secret-check", "--chroma-ca", tls_proxy.ca_path]
    log = tmp_path / "questions.log"
    runs = [
        mhqa("index", "--corpus", small_corpus, *flags, "--chroma-token", TOKEN),
        mhqa("ask", ASK_DMDD, *flags, "--log", log, env={"MHQA_CHROMA_TOKEN": TOKEN}),
        mhqa("index", "--corpus", small_corpus, *flags, "--dry-run", env={"MHQA_CHROMA_TOKEN": TOKEN}),
    ]
    assert [r.code for r in runs] == [0, 0, 0], runs[-1].stderr
    assert all(TOKEN not in r.stdout + r.stderr for r in runs)
    written = [p for folder in (cache_dir, chroma.data_dir, tmp_path) if folder.exists() for p in folder.rglob("*") if p.is_file()]
    assert any(p.is_relative_to(cache_dir / "lexical") for p in written)
    leaks = [p for p in written if TOKEN.encode() in p.read_bytes()]
    assert not leaks
    import chromadb
    from chromadb.config import Settings

    client = chromadb.HttpClient(host=chroma.url, settings=Settings(anonymized_telemetry=False))
    meta = client.get_collection("secret-check-meta").get(include=["documents"])
    assert any(doc.startswith("{") and '"documents"' in doc for doc in meta["documents"])  # the manifest is there
    assert not any(TOKEN in doc for doc in meta["documents"])



# --- least privilege: a reader token and a maintainer token ------------------------------------------

SAMPLE_CONFIG = ROOT / "mhqa" / "resources" / "nginx-chroma.conf"
SEGMENT = "[A-Za-z0-9][A-Za-z0-9._-]*"  # a tenant, database or collection name or id, in the config's regexes
READ_COMMANDS = ("ask", "chat", "faq", "eval", "status")


def allowed_requests() -> set[str]:
    """The reader's allow-list in the sample config, as 'METHOD /path' with {} for each name or id."""
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    block = text[text.index('map "$request_method $request_uri" $mhqa_chroma_read_request {'):]
    block = block[: block.index("}")]
    rules = re.findall(r'^\s*"~\^(.+)\$"\s+1;', block, re.MULTILINE)
    assert rules and len(rules) == len(set(rules))
    templates = {rule.replace(SEGMENT, "{}").replace("\\?", "?") for rule in rules}
    for request in templates:  # only literal text and whole segments are left: the comparison is exact
        assert not re.search(r"[\\\[\]()*+^$|]", request), request
    return templates


def template(method: str, uri: str) -> str:
    """'POST /api/v2/tenants/t/databases/d/collections/<id>/get' -> 'POST /api/v2/tenants/{}/databases/{}/collections/{}/get'."""
    path, query = (uri.split("?", 1) + [""])[:2]
    segments = path.split("/")
    for i in range(1, len(segments)):
        if segments[i - 1] in ("tenants", "databases", "collections"):
            assert re.fullmatch(SEGMENT, segments[i]), uri
            segments[i] = "{}"
    return f"{method} {'/'.join(segments)}" + (f"?{query}" if query else "")


def logged_requests(access_log: Path, start: int) -> list[tuple[str, str, int]]:
    """(method, raw URI, status) of each request nginx logged after line `start` of its access log."""
    lines = access_log.read_text(encoding="utf-8").splitlines()[start:]
    found = [re.search(r'"(\w+) (\S+) HTTP/[\d.]+" (\d{3}) ', line) for line in lines]
    assert all(found), lines
    return [(m.group(1), m.group(2), int(m.group(3))) for m in found]


def log_length(proxy) -> int:
    return len(proxy.access_log.read_text(encoding="utf-8").splitlines())


def read_command(mhqa, command: str, flags: list[str], token: str, tmp_path: Path):
    """One run of a read command through the proxy with `token`."""
    env = {"MHQA_CHROMA_TOKEN": token}
    if command == "ask":
        return mhqa("ask", "--json", ASK_DMDD, *flags, env=env)
    if command == "chat":
        return mhqa("chat", "--no-passages", *flags, env=env, input=f"{ASK_DMDD}\nquit\n")
    if command == "faq":
        questions = tmp_path / "faq.txt"
        questions.write_text("What is DBT?\n", encoding="utf-8")
        return mhqa("faq", questions, "--format", "md", "--date", "2026-01-01", *flags, env=env)
    if command == "eval":
        dataset = tmp_path / "two.jsonl"
        rows = [{"question": ASK_DMDD, "source": DMDD, "pages": [1]}, {"question": "how do I bake bread", "source": None, "kind": "off-topic"}]
        dataset.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return mhqa("eval", dataset, "--json", *flags, env=env)
    assert command == "status"
    return mhqa("status", "--json", "--corpus", CORPUS, *flags, env=env)


def test_the_readers_allow_list_is_exactly_what_the_read_commands_send(mhqa, served, proxy, small_corpus, tmp_path):
    """Recorded through the real proxy with the maintainer token, which lets everything through: the
    list is derived from what mhqa sends, not from what the proxy already allows."""
    flags = ["--chroma-url", proxy.url, "--collection", served.collection]
    seen: dict[str, set[str]] = {}
    for command in READ_COMMANDS:
        start = log_length(proxy)
        run = read_command(mhqa, command, flags, TOKEN, tmp_path)
        assert run.code == 0, (command, run.stderr)
        requests = logged_requests(proxy.access_log, start)
        assert requests and all(status < 400 or status == 404 for _, _, status in requests), (command, requests)
        seen[command] = {template(method, uri) for method, uri, _ in requests}
    assert set().union(*seen.values()) == allowed_requests()
    assert any(r.endswith("/query") for r in seen["ask"]) and not any(r.endswith("/query") for r in seen["status"])

    # Indexing sends requests outside the list: those are the maintainer's.
    start = log_length(proxy)
    indexed = mhqa("index", "--corpus", small_corpus, "--chroma-url", proxy.url, "--collection", "derive-writes", env={"MHQA_CHROMA_TOKEN": TOKEN})
    assert indexed.code == 0, indexed.stderr
    writes = {template(method, uri) for method, uri, _ in logged_requests(proxy.access_log, start)} - allowed_requests()
    assert {"POST /api/v2/tenants/{}/databases/{}/collections", "POST /api/v2/tenants/{}/databases/{}/collections/{}/add",
            "DELETE /api/v2/tenants/{}/databases/{}/collections/{}"} <= writes


def test_a_reader_token_reads_and_cannot_write(mhqa, served, proxy, chroma, small_corpus, tmp_path, embedded_dmdd):
    flags = ["--chroma-url", proxy.url, "--collection", served.collection]
    start = log_length(proxy)
    for command in READ_COMMANDS:
        run = read_command(mhqa, command, flags, READER, tmp_path)
        assert run.code == 0, (command, run.stderr)
        assert READER not in run.stdout + run.stderr and "warning" not in run.stderr  # loopback: no plain-http warning
        if command == "ask":
            expected = embedded_dmdd
            assert citations(run.json_lines()[0]) == citations(expected)
    assert not [r for r in logged_requests(proxy.access_log, start) if r[2] in (401, 403)]

    # `mhqa index` with the reader token: one line naming the problem, and nothing created on the server.
    refused = mhqa("index", "--corpus", small_corpus, "--chroma-url", proxy.url, "--collection", "reader-tries", env={"MHQA_CHROMA_TOKEN": READER})
    one_line_error(refused, "HTTP 403", "maintainer token")
    assert not [name for name in server_collections(chroma.url) if name.startswith("reader-tries")]

    # Straight through chromadb's client: every write is refused with 403, and the store is unchanged.
    import chromadb.errors

    reader = proxy.client(token=READER)
    meta = reader.get_collection(f"{served.collection}-meta", embedding_function=None)
    before = (meta.count(), sorted(server_collections(chroma.url)))
    attempts = {
        "create": lambda: reader.create_collection("reader-made", embedding_function=None),
        "add": lambda: meta.add(ids=["x"], embeddings=[[1.0]], documents=["x"]),
        "update": lambda: meta.update(ids=["current"], embeddings=[[0.5]]),  # embeddings given: chromadb computes none
        "upsert": lambda: meta.upsert(ids=["current"], embeddings=[[1.0]], documents=["{}"]),
        "delete records": lambda: meta.delete(ids=["current"]),
        "rename": lambda: meta.modify(name="renamed-by-reader"),
        "delete collection": lambda: reader.delete_collection(f"{served.collection}-meta"),
        "list collections": lambda: reader.list_collections(),
    }
    for what, attempt in attempts.items():
        with pytest.raises(chromadb.errors.ChromaAuthError):
            attempt()
    assert (meta.count(), sorted(server_collections(chroma.url))) == before

    # Each write as a raw request (chromadb's client may stop at its pre-flight), and writes dressed
    # up as reads (dot segments, encoded slashes, extra arguments): all refused.
    import http.client

    collections = "/api/v2/tenants/default_tenant/databases/default_database/collections"
    collection = f"{collections}/{meta.id}"
    for method, uri in (("POST", collections), ("POST", f"{collection}/add"), ("POST", f"{collection}/update"),
                        ("POST", f"{collection}/upsert"), ("POST", f"{collection}/delete"), ("PUT", collection),
                        ("DELETE", f"{collections}/{served.collection}-meta"), ("POST", "/api/v2/reset"),
                        ("POST", f"{collection}/query/../add"), ("POST", f"{collection}/get%2F..%2Fadd"),
                        ("POST", f"{collection}/add?then=/get"), ("GET", f"{collection}/count?read_level=index_and_wal&x=1")):
        connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
        connection.request(method, uri, body=b"{}", headers={"Authorization": f"Bearer {READER}", "Content-Type": "application/json"})
        status = connection.getresponse().status
        connection.close()
        assert status == 403, (method, uri, status)
    assert (meta.count(), sorted(server_collections(chroma.url))) == before


def test_a_maintainer_token_indexes_through_the_proxy(mhqa, proxy, small_corpus):
    flags = ["--chroma-url", proxy.url, "--collection", "maintained"]
    indexed = mhqa("index", "--corpus", small_corpus, *flags, env={"MHQA_CHROMA_TOKEN": TOKEN})
    assert indexed.code == 0 and "added" in indexed.stdout, indexed.stderr
    asked = mhqa("ask", "--json", ASK_DMDD, *flags, env={"MHQA_CHROMA_TOKEN": READER})
    assert asked.code == 0 and DMDD in cited_files(asked.json_lines()[0]), asked.stderr


def own_address() -> str | None:
    """An address of this machine that is not loopback (a UDP socket's connect sends nothing)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_a_token_over_plain_http_to_another_host_warns_once(mhqa):
    from mhqa.server import plain_http_warning
    from mhqa.settings import load_settings

    def warns(url: str, token: str | None = TOKEN) -> bool:
        flags = {"chroma_url": url, "chroma_token": token}
        return plain_http_warning(load_settings(flags, env={})) is not None

    for url in ("http://chroma.example.org:8000", "http://10.0.0.5", "http://[fd00::1]:8000", "http://localhost.example.org"):
        assert warns(url), url
    for url in ("https://chroma.example.org", "http://127.0.0.1:8000", "http://127.8.9.10", "http://localhost:1", "http://LOCALHOST", "http://[::1]:8000", "http://[::ffff:127.0.0.1]:1"):
        assert not warns(url), url
    assert not warns("http://chroma.example.org", token=None)

    address = own_address()
    if address is None:
        pytest.skip("no non-loopback address on this machine")
    # The machine's own LAN address: nothing listens there, so the connection is refused at once,
    # without any packet leaving the machine; the warning comes before it, once.
    url = f"http://{address}:{free_port()}"
    for run in (mhqa("ask", ASK_DMDD, "--chroma-url", url, env={"MHQA_CHROMA_TOKEN": TOKEN}),
                mhqa("chat", "--chroma-url", url, env={"MHQA_CHROMA_TOKEN": TOKEN}, input=f"{ASK_DMDD}\n{ASK_OCD}\nquit\n")):
        lines = run.stderr.strip().splitlines()
        assert run.code == 3 and len(lines) == 2, run.stderr
        assert lines[0] == f"mhqa: warning: the Chroma token is sent unencrypted over http:// to {address}, where anyone on the network can read it; use an https:// URL"
        assert "connection refused" in lines[1] and TOKEN not in run.stderr
    quiet = mhqa("ask", ASK_DMDD, "--chroma-url", url)  # no token: nothing to warn about
    assert quiet.code == 3 and "warning" not in quiet.stderr
