"""Build a corpus of at least N pages for the scale benchmark: the shipped PDFs plus generated ones.

The generated PDFs hold public text that is on every machine mhqa runs on, offline:
the docstrings of a fixed list of standard-library, numpy and scipy modules (numpy
and scipy come with mhqa's requirements), each text once, set at about 2,250
characters a page, the shipped corpus's density. Every page says something
different, so no stage can skip work by content (copies of the shipped PDFs would
let mhqa embed each repeated sentence only once). The same Python, numpy and scipy
give the same corpus.

    python bench/scale_corpus.py --pages 2000 --out /tmp/scale-corpus
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import shutil
import warnings
from pathlib import Path

CHARS_PER_PAGE = 2250
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


def pages_of(text: str) -> list[list[str]]:
    """Lines of `text` (Latin-1, the PDF core fonts' range), cut into pages of about CHARS_PER_PAGE."""
    pages: list[list[str]] = [[]]
    size = 0
    for line in text.encode("latin-1", "replace").decode("latin-1").splitlines():
        line = line.rstrip()[:110]
        if size >= CHARS_PER_PAGE:
            pages.append([])
            size = 0
        pages[-1].append(line)
        size += len(line) + 1
    return [page for page in pages if any(line.strip() for line in page)]


def write_pdf(path: Path, title: str, pages: list[list[str]]) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=8)
    for lines in pages:
        pdf.add_page()
        pdf.set_y(12)
        for line in lines:
            pdf.cell(0, 4.2, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def build(corpus: Path, out: Path, pages: int) -> int:
    """Fill `out` with the shipped PDFs and generated ones until it holds `pages` pages; returns the count."""
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for pdf in sorted(corpus.glob("*.pdf")):
        shutil.copy2(pdf, out / pdf.name)
        total += len(pypdf.PdfReader(pdf).pages)
    seen: set[str] = set()
    for name in MODULES:
        if total >= pages:
            break
        cut = pages_of(module_text(name, seen))[: pages - total]
        if not cut:
            continue
        write_pdf(out / f"python-doc-{name.replace('.', '-')}.pdf", f"Python documentation: {name}", cut)
        total += len(cut)
    if total < pages:
        raise SystemExit(f"only {total} pages of text available; asked for {pages}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent / "corpus")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    print(f"{build(args.corpus, args.out, args.pages)} pages in {args.out}")


if __name__ == "__main__":
    main()
