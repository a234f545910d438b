"""Maintaining the corpus (issue 3), through the real CLI on real PDFs and a real Chroma store:
incremental re-indexing, --dry-run, status, rebuilds, model mismatch, and runs killed or raced.

One small index (three shipped PDFs) is built once for the module; each test works on its
own copy of it, so every test starts from the same published generation.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT
from mhqa.lexical import TOKENS_VERSION
from index_checks import (
    MODEL_MODULES,
    SMALL,
    answers,
    check_consistent,
    cited_sources,
    copy_small_corpus,
    current_generation,
    first_pages,
    imported_modules,
    mhqa_command,
    read_manifest,
    snapshot,
    stored,
)

PANIC, WARNING, DMDD = SMALL
Q_WARNING = "What are warning signs that someone may be suicidal?"
Q_PANIC_P3 = "Are beta blockers used for panic disorder?"  # nimh-panic-disorder.pdf page 3
Q_DMDD_P3 = "citalopram with methylphenidate for DMDD irritability"  # nimh-dmdd.pdf page 3
Q_DMDD = "When was DMDD added to the DSM?"  # nimh-dmdd.pdf page 1
Q_OCD = "what is ERP therapy"  # nimh-ocd.pdf page 5


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, mhqa) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("small")
    corpus = copy_small_corpus(base / "corpus")
    index = base / "index"
    run = mhqa("index", "--corpus", corpus, "--index", index)
    assert run.code == 0, run.stderr
    return corpus, index


@pytest.fixture
def workspace(small_index, tmp_path) -> tuple[Path, Path]:
    """A private copy of the small corpus and its index."""
    corpus, index = small_index
    return Path(shutil.copytree(corpus, tmp_path / "corpus")), Path(shutil.copytree(index, tmp_path / "index"))


def rows(stdout: str, name: str) -> list[str]:
    """The table lines with a cell holding exactly `name` (tables are rendered one line per file)."""
    return [line for line in stdout.splitlines() if name in (cell.strip() for cell in line.split("│"))]


def row(stdout: str, name: str) -> str:
    lines = rows(stdout, name)
    assert len(lines) == 1, (name, stdout)
    return lines[0]


def documents_by_name(manifest: dict) -> dict[str, dict]:
    return {name: doc for doc in manifest["documents"].values() for name in doc["names"]}


WIDE = {"COLUMNS": "250"}


def change_everything(corpus: Path) -> None:
    """Rename, change, remove, add, and add the same content under a second name."""
    (corpus / DMDD).rename(corpus / "DMDD guide é.pdf")
    first_pages(CORPUS / PANIC, corpus / PANIC, 2)  # a new edition: pages 3 and 4 are gone
    (corpus / WARNING).unlink()
    shutil.copy(CORPUS / "nimh-ocd.pdf", corpus / "nimh-ocd.pdf")
    shutil.copy(CORPUS / "nimh-ocd.pdf", corpus / "ocd copy.pdf")


EXPECTED_ACTIONS = {
    "DMDD guide é.pdf": "renamed",
    PANIC: "changed",
    WARNING: "removed",
    "nimh-ocd.pdf": "added",
    "ocd copy.pdf": "added",
}


# --- no-op, dry run, status ------------------------------------------------------------------


def test_unchanged_corpus_reindex_touches_nothing_and_loads_no_model(workspace, base_env):
    corpus, index = workspace
    before = snapshot(index)
    proc, modules = imported_modules({**base_env, **WIDE}, "index", "--corpus", corpus, "--index", index)
    assert proc.returncode == 0, proc.stderr
    for name in SMALL:
        assert " unchanged " in row(proc.stdout, name)
    assert not modules & set(MODEL_MODULES), modules & set(MODEL_MODULES)
    assert "chromadb" not in modules and "pypdf" not in modules
    assert snapshot(index) == before


def test_status_of_an_up_to_date_index(workspace, mhqa):
    corpus, index = workspace
    run = mhqa("status", "--corpus", corpus, "--index", index, "--json")
    assert run.code == 0, run.stderr
    (status,) = run.json_lines()
    manifest = read_manifest(index)
    assert status["up_to_date"] is True and status["stale"] == [] and status["failed"] == [] and status["fix"] is None
    assert status["model"]["name"] == "all-MiniLM-L6-v2" and status["generation"] == manifest["generation"]
    assert {d["file"] for d in status["documents"]} == set(SMALL)
    for doc in status["documents"]:
        indexed = manifest["documents"][doc["sha256"]]
        assert (doc["title"], doc["pages"], doc["chunks"], doc["indexed_at"]) == (indexed["title"], indexed["pages"], indexed["chunks"], indexed["indexed_at"])
        assert doc["stale"] is None
    assert status["totals"] == {"documents": 3, "pages": 9, "chunks": manifest_chunks(manifest)}

    view = mhqa("status", "--corpus", corpus, "--index", index, env=WIDE)
    assert view.code == 0
    for doc in status["documents"]:
        line = row(view.stdout, doc["file"])
        assert doc["title"][:20] in line and doc["sha256"][:12] in line and "up to date" in line
    assert "Up to date with" in view.stdout


def manifest_chunks(manifest: dict) -> int:
    return sum(doc["chunks"] for doc in manifest["documents"].values())


def test_dry_run_prints_the_plan_and_changes_no_byte(workspace, mhqa, tmp_path):
    corpus, index = workspace
    change_everything(corpus)
    before = snapshot(index)
    run = mhqa("index", "--dry-run", "--corpus", corpus, "--index", index, env=WIDE)
    assert run.code == 0, run.stderr
    assert "dry run: nothing was changed" in run.stdout
    for name, action in EXPECTED_ACTIONS.items():
        assert f" {action} " in row(run.stdout, name), name
    assert "renamed from nimh-dmdd.pdf" in row(run.stdout, "DMDD guide é.pdf")
    assert "duplicate of nimh-ocd.pdf" in row(run.stdout, "ocd copy.pdf")
    assert snapshot(index) == before

    fresh = tmp_path / "not-yet"
    run = mhqa("index", "--dry-run", "--corpus", corpus, "--index", fresh)
    assert run.code == 0 and not fresh.exists()


def test_status_flags_stale_files_with_the_command_that_fixes_them(workspace, mhqa):
    corpus, index = workspace
    change_everything(corpus)
    run = mhqa("status", "--corpus", corpus, "--index", index, "--json")
    assert run.code == 1, run.stderr
    (status,) = run.json_lines()
    assert status["up_to_date"] is False
    assert {entry["file"]: entry["state"] for entry in status["stale"]} == EXPECTED_ACTIONS
    assert status["fix"] == shlex.join(["mhqa", "index", "--corpus", str(corpus), "--index", str(index)])
    states = {doc["file"]: doc["stale"] for doc in status["documents"]}
    assert states == {PANIC: "changed in the corpus", WARNING: "gone from the corpus", DMDD: "renamed"}

    view = mhqa("status", "--corpus", corpus, "--index", index, env=WIDE)
    assert view.code == 1
    assert any("stale: gone from the corpus" in line for line in rows(view.stdout, WARNING))
    assert "To update the index, run: " + status["fix"] in view.stdout


# --- incremental runs --------------------------------------------------------------------------


@pytest.mark.slow
def test_reindex_redoes_only_what_changed(workspace, mhqa):
    corpus, index = workspace
    old = read_manifest(index)
    old_docs = documents_by_name(old)
    change_everything(corpus)
    (status,) = mhqa("status", "--corpus", corpus, "--index", index, "--json").json_lines()

    fix = shlex.split(status["fix"])
    assert fix[:2] == ["mhqa", "index"]
    run = mhqa(*fix[1:], env=WIDE)  # the command status printed, as a maintainer would paste it
    assert run.code == 0, run.stderr
    for name, action in EXPECTED_ACTIONS.items():
        assert f" {action} " in row(run.stdout, name), name

    manifest = check_consistent(index)
    docs = documents_by_name(manifest)
    assert set(docs) == {"DMDD guide é.pdf", PANIC, "nimh-ocd.pdf", "ocd copy.pdf"}
    # renamed: the same record, carried over with its vectors (not read or embedded again)
    renamed = docs["DMDD guide é.pdf"]
    assert renamed["sha256"] == old_docs[DMDD]["sha256"] and renamed["chunk_ids"] == old_docs[DMDD]["chunk_ids"]
    assert renamed["indexed_at"] == old_docs[DMDD]["indexed_at"] and renamed["names"] == ["DMDD guide é.pdf"]
    # changed: a new record; none of the old edition's chunks survive
    assert docs[PANIC]["sha256"] != old_docs[PANIC]["sha256"] and docs[PANIC]["pages"] == 2
    # duplicate: indexed once, both names listed, the first one cited
    assert docs["nimh-ocd.pdf"]["names"] == ["nimh-ocd.pdf", "ocd copy.pdf"]

    records = stored(index)
    gone = {old_docs[WARNING]["sha256"], old_docs[PANIC]["sha256"]}
    for which in ("chunks", "units"):
        assert not [m for _, m in records[which] if m["sha"] in gone], which
    ids = {record_id for record_id, _ in records["chunks"]}
    assert not ids & set(old_docs[WARNING]["chunk_ids"])
    assert {m["file"] for _, m in records["chunks"]} == {"DMDD guide é.pdf", PANIC, "nimh-ocd.pdf"}
    assert max(m["page"] for _, m in records["units"] if m["file"] == PANIC) == 2

    outcomes = answers(mhqa, index, corpus, [Q_WARNING, Q_PANIC_P3, Q_DMDD, Q_OCD])
    assert WARNING not in cited_sources(outcomes)
    assert all(page <= 2 for _, _, cites in outcomes for source, page, _ in cites if source == PANIC)
    assert outcomes[2][0] == "answered" and outcomes[2][2][0][0] == "DMDD guide é.pdf"
    assert outcomes[3][0] == "answered" and outcomes[3][2][0][:2] == ("nimh-ocd.pdf", 5)

    assert mhqa("status", "--corpus", corpus, "--index", index).code == 0


def test_rename_removal_and_duplicate_embed_nothing(workspace, base_env, mhqa):
    corpus, index = workspace
    old_docs = documents_by_name(read_manifest(index))
    (corpus / DMDD).rename(corpus / "dmdd 2024.pdf")
    (corpus / WARNING).unlink()
    shutil.copy(corpus / PANIC, corpus / "panic (copy).pdf")
    proc, modules = imported_modules({**base_env, **WIDE}, "index", "--corpus", corpus, "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert " renamed " in row(proc.stdout, "dmdd 2024.pdf") and " removed " in row(proc.stdout, WARNING)
    assert " added " in row(proc.stdout, "panic (copy).pdf") and " unchanged " in row(proc.stdout, PANIC)
    assert not modules & set(MODEL_MODULES), modules & set(MODEL_MODULES)

    manifest = check_consistent(index)
    docs = documents_by_name(manifest)
    assert docs["dmdd 2024.pdf"]["chunk_ids"] == old_docs[DMDD]["chunk_ids"]
    assert docs[PANIC]["names"] == ["nimh-panic-disorder.pdf", "panic (copy).pdf"]
    assert old_docs[WARNING]["sha256"] not in manifest["documents"]
    outcomes = answers(mhqa, index, corpus, [Q_DMDD, Q_WARNING])
    assert outcomes[0][2][0][0] == "dmdd 2024.pdf"
    assert WARNING not in cited_sources(outcomes)


def test_a_removed_name_of_duplicate_content_keeps_the_content(workspace, mhqa):
    corpus, index = workspace
    shutil.copy(corpus / PANIC, corpus / "a panic copy.pdf")
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0
    assert documents_by_name(read_manifest(index))[PANIC]["names"] == ["a panic copy.pdf", PANIC]
    (corpus / "a panic copy.pdf").unlink()
    run = mhqa("index", "--corpus", corpus, "--index", index, env=WIDE)
    assert run.code == 0
    assert "its content is still indexed as nimh-panic-disorder.pdf" in row(run.stdout, "a panic copy.pdf")
    manifest = check_consistent(index)
    assert documents_by_name(manifest)[PANIC]["names"] == [PANIC]
    assert {m["file"] for _, m in stored(index)["chunks"]} == set(SMALL)


# --- each document's part of the BM25 arrays and vocabulary (parts.py) ------------------------------


def lexical_files(index: Path) -> dict[str, bytes]:
    """The current generation's BM25 arrays and vocabulary, as bytes."""
    folder = current_generation(index) / "lexical" / f"v{TOKENS_VERSION}"
    return {name: (folder / name).read_bytes() for name in ("vocabulary.json", "terms.json", "data.npy", "indices.npy", "indptr.npy")}


def part_files(index: Path) -> dict[str, Path]:
    """sha256 -> the current generation's part file of that document."""
    (folder,) = (current_generation(index) / "lexical" / "parts").iterdir()
    return {path.stem: path for path in folder.glob("*.npz")}


def fresh_lexical_files(mhqa, corpus: Path, tmp_path: Path) -> dict[str, bytes]:
    """What a new index of `corpus` derives: what a re-index must end with, whatever it kept."""
    fresh = tmp_path / "fresh-index"
    assert mhqa("index", "--corpus", corpus, "--index", fresh).code == 0
    return lexical_files(fresh)


def test_a_one_file_change_derives_only_that_documents_part(workspace, mhqa, tmp_path):
    corpus, index = workspace
    before = {sha: path.stat().st_ino for sha, path in part_files(index).items()}
    old_docs = documents_by_name(read_manifest(index))
    assert set(before) == {doc["sha256"] for doc in old_docs.values()}
    first_pages(CORPUS / PANIC, corpus / PANIC, 2)
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0

    after = {sha: path.stat().st_ino for sha, path in part_files(index).items()}
    new_panic = documents_by_name(read_manifest(index))[PANIC]["sha256"]
    assert set(after) == {old_docs[WARNING]["sha256"], old_docs[DMDD]["sha256"], new_panic}
    for kept in (WARNING, DMDD):  # the same files, linked from the previous generation
        assert after[old_docs[kept]["sha256"]] == before[old_docs[kept]["sha256"]], kept
    assert new_panic not in before
    assert lexical_files(index) == fresh_lexical_files(mhqa, corpus, tmp_path)


def test_a_rename_keeps_the_vocabulary_of_a_new_index(workspace, mhqa, tmp_path):
    corpus, index = workspace
    vocabulary = json.loads(lexical_files(index)["vocabulary.json"])
    (corpus / DMDD).rename(corpus / "a dmdd guide.pdf")  # now first in file order
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0
    renamed = lexical_files(index)
    after = json.loads(renamed["vocabulary.json"])
    assert after["documents"] == 3 and (after["spread"], after["words"]) == (vocabulary["spread"], vocabulary["words"])
    assert renamed == fresh_lexical_files(mhqa, corpus, tmp_path)


def test_a_damaged_or_missing_part_is_derived_again(workspace, mhqa, tmp_path):
    corpus, index = workspace
    docs = documents_by_name(read_manifest(index))
    found = part_files(index)
    damaged, truncated, missing = (found[docs[name]["sha256"]] for name in SMALL)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside an array: only the zip's CRC tells
    damaged.write_bytes(bytes(data))
    truncated.write_bytes(truncated.read_bytes()[:-100])
    missing.unlink()
    (corpus / DMDD).rename(corpus / "dmdd.pdf")  # a new generation that keeps every document
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0
    assert lexical_files(index) == fresh_lexical_files(mhqa, corpus, tmp_path)
    from mhqa import parts

    manifest = read_manifest(index)
    lexical_dir = current_generation(index) / "lexical"
    for sha, path in part_files(index).items():
        assert parts.load(lexical_dir, sha, manifest["documents"][sha]["chunk_ids"]) is not None, path
        assert path.stat().st_nlink == 1  # written anew, not the damaged file linked again
    assert parts.load(lexical_dir, sha, manifest["documents"][sha]["chunk_ids"][1:]) is None  # other chunks: not used


@pytest.mark.slow
def test_chunk_settings_change_rebuilds_everything_and_says_so(workspace, mhqa):
    corpus, index = workspace
    old = read_manifest(index)
    run = mhqa("index", "--corpus", corpus, "--index", index, env={"MHQA_CHUNK_TOKENS": "100", **WIDE})
    assert run.code == 0, run.stderr
    assert "chunking settings changed (chunk_tokens 200 -> 100): rebuilding everything" in run.stdout
    for name in SMALL:
        assert " rebuilt " in row(run.stdout, name)
    manifest = check_consistent(index)
    assert manifest["chunking"]["chunk_tokens"] == 100
    assert manifest_chunks(manifest) > manifest_chunks(old)
    for sha, doc in manifest["documents"].items():
        assert doc["indexed_at"] >= old["documents"][sha]["indexed_at"] and doc["chunks"] >= old["documents"][sha]["chunks"]
    # and the status of the index with the default settings says a rebuild is due
    (status,) = mhqa("status", "--corpus", corpus, "--index", index, "--json").json_lines()
    assert status["rebuild_reason"].startswith("chunking settings changed (chunk_tokens 100 -> 200)")
    assert {entry["state"] for entry in status["stale"]} == {"rebuilt"}


@pytest.fixture(scope="module")
def other_model(tmp_path_factory) -> Path:
    """The bundled model folder with one byte of its weights changed: another model to mhqa."""
    from mhqa.settings import bundled_model_path

    folder = Path(shutil.copytree(bundled_model_path(), tmp_path_factory.mktemp("model") / "other-model"))
    weights = folder / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    return folder


def test_asking_with_another_model_is_a_clear_error(workspace, mhqa, other_model):
    corpus, index = workspace
    env = {"MHQA_MODEL": str(other_model)}
    run = mhqa("ask", Q_DMDD, "--index", index, "--corpus", corpus, env=env)
    assert run.code == 3 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("mhqa: the index was built with the model") and "mhqa index" in run.stderr

    before = snapshot(index)
    plan = mhqa("index", "--dry-run", "--corpus", corpus, "--index", index, env={**env, **WIDE})
    assert plan.code == 0 and "the embedding model changed" in plan.stdout
    for name in SMALL:
        assert " rebuilt " in row(plan.stdout, name)
    assert snapshot(index) == before
    status = mhqa("status", "--corpus", corpus, "--index", index, "--json", env=env)
    assert status.code == 1 and status.json_lines()[0]["rebuild_reason"].startswith("the embedding model changed")


def test_questions_never_write_to_the_published_store(workspace, mhqa):
    """Readers only read: Chroma's graph files are saved by the writer, never rewritten by `ask`."""
    corpus, index = workspace
    chroma = current_generation(index) / "chroma"
    graph = {k: v for k, v in snapshot(chroma).items() if not k.startswith("chroma.sqlite3")}
    assert any(k.endswith("index_metadata.pickle") for k in graph)
    answers(mhqa, index, corpus, [Q_DMDD, Q_WARNING])
    assert {k: v for k, v in snapshot(chroma).items() if not k.startswith("chroma.sqlite3")} == graph


# --- crashes and concurrency -------------------------------------------------------------------


def signature(index: Path) -> dict:
    """What a generation holds, without its timestamps: content hash -> (names, chunk ids)."""
    return {sha: (doc["names"], doc["chunk_ids"]) for sha, doc in read_manifest(index)["documents"].items()}


def crash_change(corpus: Path) -> None:
    (corpus / WARNING).unlink()
    shutil.copy(CORPUS / "nimh-ocd.pdf", corpus / "nimh-ocd.pdf")  # 8 pages to read and embed
    first_pages(CORPUS / DMDD, corpus / DMDD, 2)


CRASH_QUESTIONS = [Q_WARNING, Q_OCD, Q_DMDD_P3, Q_PANIC_P3]


def new_generations(index: Path, known: set[str]) -> list[Path]:
    return [index / "generations" / name for name in sorted({p.name for p in (index / "generations").iterdir()} - known)]


def _holds_lock(index: Path, pid: int) -> bool:
    try:
        return (index / ".writer.lock").read_text().startswith(f"pid {pid} ")
    except OSError:
        return False


def published(index: Path) -> str:
    return json.loads((index / "CURRENT").read_text())["generation"]


def mid_write(index: Path, moment: str, marker: dict, new: list[Path]) -> None:
    """What the paused run has on disk at `moment`: proof that the kill lands in the middle of the write."""
    if moment == "writer lock taken":
        assert _holds_lock(index, marker["pid"]) and new == []
        return
    [generation] = new
    assert generation.name == marker.get("generation", marker.get("pointer", {}).get("generation"))
    assert published(index) != generation.name  # never published before the kill
    stage = {  # moment -> (files that must be there, files that must not), globs inside the generation
        # (lexical/parts/ may be there early: each document's part is written with its vectors)
        "next generation created": (["chroma"], ["lexical/v*", "manifest.json"]),
        "vectors being written": (["chroma/chroma.sqlite3"], ["lexical/v*", "manifest.json"]),
        "BM25 arrays written": (["lexical/v*/terms.json"], ["manifest.json"]),
        "manifest written": (["manifest.json"], []),
        "pointer being replaced": (["manifest.json"], []),
    }
    present, absent = stage[moment]
    assert all(any(generation.glob(pattern)) for pattern in present), (moment, present)
    assert not any(any(generation.glob(pattern)) for pattern in absent), (moment, absent)
    if moment == "pointer being replaced":
        assert json.loads(Path(marker["scratch"]).read_text())["generation"] == generation.name
    if moment == "vectors being written":
        assert 0 < marker["records"]  # a first batch is in, and the run stopped before the next one


def kill_at(index: Path, env: dict, corpus: Path, moment: str, workdir: Path) -> dict:
    """Run `mhqa index` until it stops at `moment` (tests/kill_hooks.py), check the write is under way, SIGKILL it."""
    known = {p.name for p in (index / "generations").iterdir()}
    marker = workdir / f"{moment.replace(' ', '-')}.json"
    hooks = Path(__file__).with_name("kill_hooks.py")
    proc = subprocess.Popen([sys.executable, str(hooks), moment, str(marker), "index", "--corpus", str(corpus), "--index", str(index)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            assert proc.poll() is None, f"the run ended before {moment!r}: {proc.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, f"the run never reached {moment!r}"
            time.sleep(0.01)
        reached = json.loads(marker.read_text())
        assert reached["moment"] == moment and reached["pid"] == proc.pid
        mid_write(index, moment, reached, new_generations(index, known))
        assert proc.poll() is None  # still paused there when it is killed
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        return reached
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_killed_index_runs_leave_the_index_as_before(workspace, mhqa, base_env, tmp_path):
    from kill_hooks import MOMENTS

    corpus, index = workspace
    reference = Path(shutil.copytree(index, tmp_path / "reference"))
    crash_change(corpus)
    before = answers(mhqa, index, corpus, CRASH_QUESTIONS)
    before_state = signature(index)
    assert mhqa("index", "--corpus", corpus, "--index", reference).code == 0
    after = answers(mhqa, reference, corpus, CRASH_QUESTIONS)
    after_state = signature(reference)
    assert before != after and before_state != after_state

    # Runs killed one after the other on the same index, each exactly at its moment: each kill
    # leaves it answering as before, whatever the earlier kills left behind.
    for moment in MOMENTS:
        kill_at(index, base_env, corpus, moment, tmp_path)
        assert signature(index) == before_state, moment
        check_consistent(index)
        assert answers(mhqa, index, corpus, CRASH_QUESTIONS) == before, moment

    # the next run finishes the job and clears what the killed runs left behind
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0
    assert signature(index) == after_state
    check_consistent(index)
    assert len(list((index / "generations").iterdir())) <= 2
    assert list(index.glob(".CURRENT.*")) == []  # the killed run's scratch pointer
    assert answers(mhqa, index, corpus, CRASH_QUESTIONS) == after


@pytest.mark.slow
def test_one_writer_at_a_time_and_questions_during_a_run(workspace, mhqa, base_env):
    corpus, index = workspace
    crash_change(corpus)
    before = answers(mhqa, index, corpus, CRASH_QUESTIONS)
    writer = subprocess.Popen(mhqa_command("index", "--corpus", corpus, "--index", index), env=base_env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not _holds_lock(index, writer.pid):
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(0.01)
        second = mhqa("index", "--wait", "1", "--corpus", corpus, "--index", index, timeout=60)
        assert second.code == 3 and second.stdout == ""
        assert len(second.stderr.strip().splitlines()) == 1
        assert second.stderr.startswith("mhqa: another `mhqa index` is writing") and f"pid {writer.pid}" in second.stderr
        during = []
        while writer.poll() is None:
            during.append(answers(mhqa, index, corpus, CRASH_QUESTIONS))
        assert during, "the index run ended before a question could be asked during it"
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    assert writer.returncode == 0, writer.stderr.read()
    after = answers(mhqa, index, corpus, CRASH_QUESTIONS)
    assert before != after
    for outcome in during:
        assert outcome in (before, after)
    check_consistent(index)
