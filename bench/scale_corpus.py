"""Build a corpus of at least N pages for the scale benchmark: the shipped PDFs plus generated ones.

The generated PDFs hold public text that is already on the machine, read offline, in
this order until there is enough:

1. the docstrings of a fixed list of standard-library, numpy and scipy modules (imported,
   so C functions count too);
2. the docstrings of the standard library and of the installed packages, read from
   their source with `ast` (nothing is imported or run), prose-rich packages first;
3. the descriptions of the installed distributions (their README, in METADATA);
4. the plain-text documentation in /usr/share/doc, then the English manual pages.

Doctest and fenced code blocks are dropped (prose is wanted, not code listings), each
docstring, each file and each paragraph of 200+ characters (40+ in files) is used once,
and the text is set at about 2,250 characters a page (the shipped corpus's density) into
PDFs of 20 to 60 pages, like a real library. Every page says something different, so no stage can skip work by
content; the build hashes every page's text and fails on a repeat. The same installed
packages give the same pages and the same PDF bytes.

Beside the PDFs it writes `.scale-corpus.json` (sources used, page counts, a hash of the
page texts) and `.changed/<file>`: another edition of one generated PDF, same page count,
new text (the pages after the corpus's last one), for timing a one-file re-index. mhqa
skips hidden files and folders, so neither is indexed.

    python bench/scale_corpus.py --pages 10000 --out /tmp/scale-corpus
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import gzip
import hashlib
import importlib
import io
import json
import logging
import os
import random
import re
import shutil
import sys
import sysconfig
import textwrap
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

CHARS_PER_PAGE = 2250
LINE_MM = 3.4  # 8 pt type
LINES_PER_PAGE = 80  # what fits on A4 from 15 mm down
LINE_WIDTH = 110  # characters of 8 pt Helvetica across A4
FILE_PAGES = (20, 60)
FILE_ONCE_FROM = 40  # see Document.once_from
SEED = 12  # file sizes only: the text and its order do not depend on it
MANIFEST = ".scale-corpus.json"
CHANGED = ".changed"
FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)  # PDF bytes must not carry the build time
MODULES = """
os typing collections itertools functools re json argparse logging asyncio unittest decimal datetime pathlib
subprocess socket ssl threading multiprocessing concurrent.futures sqlite3 csv tarfile zipfile shutil tempfile
statistics random math string textwrap difflib inspect dataclasses enum contextlib pickle struct codecs io time
calendar locale gettext heapq bisect array queue sched selectors signal ast dis tokenize pdb doctest email.message
http.client urllib.request urllib.parse http.server http.cookiejar xml.etree.ElementTree xml.dom.minidom
configparser mailbox smtplib imaplib ftplib socketserver xmlrpc.client optparse cmd shlex timeit pstats tracemalloc
importlib.metadata zipimport pkgutil platform ipaddress fractions operator copy pprint weakref types abc
numpy numpy.linalg numpy.random numpy.fft numpy.polynomial numpy.ma
scipy.stats scipy.linalg scipy.optimize scipy.signal scipy.sparse scipy.special scipy.interpolate scipy.integrate
scipy.spatial scipy.ndimage
""".split()
# Read first: the most explanatory prose. Every other installed package follows, alphabetically.
PACKAGES = """
sympy scipy numpy sklearn networkx nltk mpmath sqlalchemy transformers torch sentence_transformers huggingface_hub
pydantic chromadb tokenizers typer click rich pypdf fpdf jinja2 pygments setuptools pip fontTools PIL
""".split()
SKIPPED_PACKAGES = {
    "kubernetes",  # generated API client: thousands of near-identical "Sets the X of this V1Y" docstrings
    "mhqa", "tests",  # the program under test, and a stray test folder
}
SKIPPED_PARTS = {"tests", "test", "testing", "__pycache__", "idlelib", "lib2to3", "site-packages", "dist-packages"}


@dataclass
class Document:
    source: str  # where the text came from, for the manifest (e.g. "docstrings:sympy")
    text: str
    # Paragraphs this long are used once. Files (changelogs of one source tree shipped by
    # two packages) share runs of short entries, docstrings only long passages.
    once_from: int = 200


# --- text sources ----------------------------------------------------------------------------


def prose(text: str) -> str:
    """`text` without doctest sessions (the `>>>` lines and their output) and fenced code blocks."""
    kept, in_doctest, in_fence = [], False, False
    for line in text.splitlines():
        bare = line.strip()
        if bare.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if bare.startswith(">>>") or (in_doctest and bare):
            in_doctest = True
            continue
        in_doctest = False
        kept.append(line)
    return "\n".join(kept)


def module_text(name: str, seen: set[str]) -> str:
    """The docstrings of a module and of its public functions, classes and methods, each once."""
    import inspect

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        module = importlib.import_module(name)
        parts = []

        def add(title: str, obj: object) -> None:
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 80 and doc not in seen:
                seen.add(doc)
                parts.append(f"{title}\n\n{doc}\n")

        add(name, module)
        for attribute, obj in sorted(vars(module).items()):
            if attribute.startswith("_") or not callable(obj):
                continue
            add(f"{name}.{attribute}", obj)
            if inspect.isclass(obj):
                for method, member in sorted(vars(obj).items()):
                    if not method.startswith("_"):
                        add(f"{name}.{attribute}.{method}", member)
    return "\n".join(parts)


def file_docstrings(args: tuple[Path, str]) -> list[tuple[str, str]]:
    """(title, docstring) of a source file's module, classes and functions, in source order; runs in a worker."""
    path, module = args
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return []
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}.{child.name}"
                doc = ast.get_docstring(child)
                if doc:
                    found.append((name, doc))
                visit(child, name)

    doc = ast.get_docstring(tree)
    if doc:
        found.append((module, doc))
    visit(tree, module)
    return found


def source_files(root: Path, package: str) -> list[tuple[Path, str]]:
    """The .py and .pyi files of a package folder (tests left out), with their dotted module names."""
    files = []
    for path in sorted(root.rglob("*.py*")):
        parts = path.relative_to(root).parts
        if path.suffix not in (".py", ".pyi") or SKIPPED_PARTS.intersection(parts[:-1]):
            continue
        dotted = ".".join((package, *parts[:-1], path.stem)).removesuffix(".__init__")
        files.append((path, dotted))
    return files


def package_roots() -> list[tuple[str, Path]]:
    """The standard library, then the installed packages: PACKAGES first, then the rest alphabetically."""
    site = Path(sysconfig.get_paths()["purelib"])
    installed = {
        p.name: p for p in site.iterdir()
        if p.is_dir() and p.name.isidentifier() and p.name not in SKIPPED_PACKAGES and any(p.glob("*.py*"))
    }
    ordered = [name for name in PACKAGES if name in installed] + sorted(set(installed) - set(PACKAGES), key=str.lower)
    return [("stdlib", Path(sysconfig.get_paths()["stdlib"]))] + [(name, installed[name]) for name in ordered]


def first_time(text: str, seen: set[str]) -> bool:
    """Whether `text` is new: copies of one file (a changelog shipped twice) would repeat whole pages."""
    key = hashlib.sha256(text.encode()).hexdigest()
    if key in seen:
        return False
    seen.add(key)
    return True


def distribution_descriptions(seen: set[str]) -> Iterator[Document]:
    """Each installed distribution's long description (its README), sorted by name."""
    for dist in sorted(metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        body = dist.metadata.get_payload() if hasattr(dist.metadata, "get_payload") else None
        description = body or dist.metadata.get("Description") or ""
        if len(description) > 200 and first_time(description, seen):
            yield Document(f"readme:{dist.metadata['Name']}", f"{dist.metadata['Name']} {dist.version}\n\n{description}", FILE_ONCE_FROM)


def read_text(path: Path) -> str | None:
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        return None if b"\0" in data[:4096] else data.decode("utf-8")
    except (OSError, UnicodeDecodeError, gzip.BadGzipFile, EOFError):
        return None


def system_docs(seen: set[str]) -> Iterator[Document]:
    """Plain-text files of /usr/share/doc: not the copyright files (the same licences again and again), not examples."""
    root = Path("/usr/share/doc")
    if not root.is_dir():
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        name = path.name.lower().removesuffix(".gz")
        if name.startswith("copyright") or Path(name).suffix not in ("", ".txt", ".md", ".rst"):
            continue
        if {"examples", "example", *SKIPPED_PARTS}.intersection(path.relative_to(root).parts[:-1]):
            continue
        text = read_text(path)
        if text and len(text) > 200 and first_time(text, seen):
            yield Document(f"doc:{path.relative_to(root).parts[0]}", f"{path.relative_to(root)}\n\n{text}", FILE_ONCE_FROM)


ROFF_ESCAPES = re.compile(r"\\f[BIRPC]|\\f\(..|\\s[+-]?\d|\\[&|^:%,/]")


def roff_text(source: str) -> str:
    """A manual page's words: requests dropped, the text of .SH/.B/.I kept, font escapes removed."""
    lines = []
    for line in source.splitlines():
        if line.startswith(("'", '.\\"', '\\"')):
            continue
        if line.startswith("."):
            request, _, rest = line.partition(" ")
            if request not in (".SH", ".SS", ".B", ".I", ".BR", ".IR", ".RB", ".RI", ".BI", ".IB"):
                if request in (".PP", ".P", ".LP", ".TP", ".sp", ".IP"):
                    lines.append("")
                continue
            line = rest.replace('"', "")
        line = ROFF_ESCAPES.sub("", line).replace("\\-", "-").replace("\\(em", "--").replace("\\(en", "-").replace("\\e", "\\")
        lines.append(line)
    return "\n".join(lines)


def manual_pages(seen: set[str]) -> Iterator[Document]:
    """The English manual pages (sections 1, 5, 7, 8), sorted."""
    for section in ("man1", "man5", "man7", "man8"):
        folder = Path("/usr/share/man") / section
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            text = read_text(path) if path.is_file() and not path.is_symlink() else None
            if text and not text.startswith(".so ") and first_time(text, seen):  # .so: a pointer to another page
                yield Document(f"man:{section}", roff_text(text), FILE_ONCE_FROM)


def documents(pool: ProcessPoolExecutor, seen: set[str]) -> Iterator[Document]:
    """Every source, in order; each docstring once (`seen`). Lazy: the caller stops when it has enough."""
    for name in MODULES:
        top = name.split(".")[0]
        yield Document(f"docstrings, imported:{'stdlib' if top in sys.stdlib_module_names else top}", module_text(name, seen))
    for package, root in package_roots():
        files = source_files(root, package)
        parts = []
        for docs in pool.map(file_docstrings, files, chunksize=16):
            for title, doc in docs:
                if len(doc) > 80 and doc not in seen:
                    seen.add(doc)
                    parts.append(f"{title}\n\n{doc}\n")
        yield Document(f"docstrings:{package}", "\n".join(parts))
    yield from distribution_descriptions(seen)
    yield from system_docs(seen)
    yield from manual_pages(seen)


# --- pages and PDFs ------------------------------------------------------------------------------


def pages_of(text: str, paragraphs: set[str], once_from: int = 200) -> list[list[str]]:
    """`text` as prose in Latin-1 (the PDF core fonts' range), paragraphs of `once_from`+ characters used once, cut into pages."""
    kept = []
    for paragraph in re.split(r"\n\s*\n", prose(text)):
        key = " ".join(paragraph.split())
        if len(key) >= once_from:
            if key in paragraphs:
                continue
            paragraphs.add(key)
        kept.append(paragraph)
    pages: list[list[str]] = [[]]
    size = 0
    for raw in "\n\n".join(kept).encode("latin-1", "replace").decode("latin-1").splitlines():
        for line in textwrap.wrap(raw.rstrip(), LINE_WIDTH, drop_whitespace=False) or [""]:
            if size >= CHARS_PER_PAGE or len(pages[-1]) >= LINES_PER_PAGE:
                pages.append([])
                size = 0
            pages[-1].append(line.rstrip())
            size += len(line.strip()) + 1 if line.strip() else 0  # what a reader extracts: no indent, no blank lines
    return [page for page in pages if any(line.strip() for line in page)]


def page_key(lines: list[str]) -> str:
    return hashlib.sha256(" ".join(" ".join(lines).split()).encode()).hexdigest()


def write_pdf(args: tuple[Path, str, list[list[str]]]) -> None:
    """One PDF, a page per list of lines; runs in a worker."""
    from fpdf import FPDF

    path, title, pages = args
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=8)
    for lines in pages:
        pdf.add_page()
        for row, line in enumerate(lines):
            if line:
                pdf.text(10, 15 + LINE_MM * row, line)  # text() rather than cell(): the same page, 6x faster to build
    pdf.output(str(path))


def shipped_pages(corpus: Path, out: Path) -> tuple[int, int, list[str]]:
    """Copy the shipped PDFs into `out`; their file count, page count and page-text hashes."""
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    keys = []
    files = sorted(corpus.glob("*.pdf"))
    for pdf in files:
        shutil.copy2(pdf, out / pdf.name)
        keys += [page_key((page.extract_text() or "").splitlines()) for page in pypdf.PdfReader(pdf).pages]
    return len(files), len(keys), keys


def slug(source: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", source.split(":", 1)[-1].split(" ")[0].lower()).strip("-")[:30]


def build(corpus: Path, out: Path, pages: int, jobs: int, log=lambda message: None) -> dict:
    """Fill `out` with the shipped PDFs and generated ones until it holds `pages` pages; returns the manifest."""
    import pypdf

    started = time.perf_counter()
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).exists():
            raise SystemExit(f"{out} is not empty and is not a scale corpus: choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MANIFEST).write_text('{"complete": false}\n')  # marks the folder as ours, so a failed build can be redone in it
    shipped_files, shipped, keys = shipped_pages(corpus, out)
    unique = set(keys)
    need = max(pages - shipped, 0)
    generated: list[tuple[str, list[str]]] = []  # (source, lines); past `need`, the changed edition's pages
    with ProcessPoolExecutor(jobs) as pool:
        seen: set[str] = set()
        paragraphs: set[str] = set()
        for document in documents(pool, seen):
            before = len(generated)
            for lines in pages_of(document.text, paragraphs, document.once_from):
                key = page_key(lines)
                if key in unique:
                    raise SystemExit(f"page repeated: a page of {document.source} has the same text as an earlier one")
                unique.add(key)
                keys.append(key)
                generated.append((document.source, lines))
            if len(generated) // 1000 > before // 1000:
                log(f"  {len(generated)} pages of text, up to {document.source}")
            if len(generated) >= need + FILE_PAGES[1]:  # enough for the corpus and the changed edition
                break
        else:
            raise SystemExit(f"only {shipped + len(generated)} pages of text here; asked for {pages} (and {FILE_PAGES[1]} spare)")

        rng = random.Random(SEED)
        files: list[tuple[Path, str, list[list[str]]]] = []
        start = 0
        while start < need:
            cut = generated[start : min(start + rng.randint(*FILE_PAGES), need)]
            labels = list(dict.fromkeys(source for source, _ in cut))
            number = len(files) + 1
            files.append((out / f"gen-{number:04d}-{slug(labels[0])}.pdf", f"Generated reading {number}: {', '.join(labels)}", [p for _, p in cut]))
            start += len(cut)
        first = files[0]
        spare = [lines for _, lines in generated[need : need + len(first[2])]]
        (out / CHANGED).mkdir()
        editions = [*files, (out / CHANGED / first[0].name, first[1] + " (changed edition)", spare)]
        list(pool.map(write_pdf, editions, chunksize=4))
    written = sum(len(pypdf.PdfReader(path).pages) for path, _, _ in editions[:-1])
    if written != need:
        raise SystemExit(f"the generated PDFs hold {written} pages, not {need}")
    sources: dict[str, int] = {}
    for source, _ in generated[:need]:
        sources[source] = sources.get(source, 0) + 1
    manifest = {
        "complete": True,
        "pages": shipped + need,
        "files": shipped_files + len(files),
        "shipped": {"corpus": str(corpus), "files": shipped_files, "pages": shipped},
        "generated": {"files": len(files), "pages": need, "file_pages": list(FILE_PAGES), "seed": SEED},
        "chars_per_page": CHARS_PER_PAGE,
        "unique_pages": True,  # checked above: the build stops on a repeated page
        "pages_sha256": hashlib.sha256("".join(keys[: shipped + need]).encode()).hexdigest(),
        "sources": [{"source": source, "pages": count} for source, count in sources.items()],
        "changed_edition": {"file": first[0].name, "path": f"{CHANGED}/{first[0].name}", "pages": len(spare)},
        "python": sys.version.split()[0],
        "seconds": round(time.perf_counter() - started, 1),
        "size_mb": round(sum(f.stat().st_size for f in out.glob("*.pdf")) / 1024 / 1024, 1),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":  # some docstrings are made at import and print sets (scipy's deprecations)
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent / "corpus")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty folder, or an earlier scale corpus (replaced)")
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes [all CPUs]")
    args = parser.parse_args()
    manifest = build(args.corpus, args.out, args.pages, args.jobs, log=lambda message: print(message, file=sys.stderr, flush=True))
    print(f"{manifest['pages']} pages in {manifest['files']} PDFs ({manifest['size_mb']} MB) in {args.out}, {manifest['seconds']} s")


if __name__ == "__main__":
    main()
