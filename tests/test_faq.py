"""`mhqa faq`: question lists in, cited FAQ sheets out, through the real CLI on the real corpus.

Each format is parsed back: the HTML with html.parser, the Markdown by rendering it with
markdown-it (CommonMark, as rich ships it) and parsing that HTML the same way, the JSON Lines
by comparing them with `mhqa ask --json`. The HTML sheet is also rendered in headless Chromium.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA.parent.parent / "corpus"

NOT_COVERED = "Not covered by the vetted sources - please ask a clinician"
DATE = "2024-05-06"
DATE_EPOCH = "1714953600"  # 2024-05-06T00:00:00Z
PANIC = "What are the symptoms of panic disorder?"
SOCIAL = "How is social anxiety disorder treated?"
UNCOVERED = "How much screen time is healthy for a teenager?"
CRISIS = "i want to kill myself"
HELP = "How do I help a friend who talks about suicide?"  # about suicide, not a disclosure: on the sheet
DMDD = "What is disruptive mood dysregulation disorder?"
INJECTED = "What is <b>DMDD</b>? [click](http://evil.example/x) ![x](https://evil.example/p.png)"

QUESTIONS_TXT = f"""# Questions for a parent evening (comments and blank lines are skipped)
{PANIC}

## Anxiety
{SOCIAL}
{HELP}
{UNCOVERED}
{CRISIS}

## Mood
{DMDD}
{INJECTED}
"""
# (question, section) in input order, as the .txt above states them
ROWS = [(PANIC, None), (SOCIAL, "Anxiety"), (HELP, "Anxiety"), (UNCOVERED, "Anxiety"), (CRISIS, "Anxiety"), (DMDD, "Mood"), (INJECTED, "Mood")]
ON_SHEET = [q for q, _ in ROWS if q != CRISIS]


# --- parsing helpers ---------------------------------------------------------------------------


@dataclass
class Page:
    """What an HTML parser sees in a sheet."""

    lang: str | None = None
    headings: list[tuple[int, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text)
    ids: set[str] = field(default_factory=set)
    resource_urls: list[str] = field(default_factory=list)  # src/href/action/srcset/data of any element
    tags: set[str] = field(default_factory=set)
    styles: str = ""
    text: str = ""
    meta: list[dict] = field(default_factory=list)


class _SheetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._heading: list | None = None
        self._link: list | None = None
        self._in_style = False
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.page.tags.add(tag)
        if tag == "html":
            self.page.lang = values.get("lang")
        if tag == "meta":
            self.page.meta.append(values)
        if "id" in values:
            self.page.ids.add(values["id"])
        for name in ("src", "href", "action", "srcset", "data", "poster", "background"):
            if values.get(name):
                self.page.resource_urls.append(values[name])
        if "style" in values:
            self.page.styles += values["style"] or ""
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]
        if tag == "a" and "href" in values:
            self._link = [values["href"], ""]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag) and self._heading:
            self.page.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None
        if tag == "a" and self._link:
            self.page.links.append((self._link[0], self._link[1]))
            self._link = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.page.styles += data
            return
        self._text.append(data)
        if self._heading is not None:
            self._heading[1] += data
        if self._link is not None:
            self._link[1] += data

    def close(self):
        super().close()
        self.page.text = " ".join("".join(self._text).split())


def parse_html(text: str) -> Page:
    parser = _SheetParser()
    parser.feed(text)
    parser.close()
    return parser.page


def markdown_to_page(text: str) -> Page:
    from markdown_it import MarkdownIt

    return parse_html(MarkdownIt("commonmark").render(text))


def assert_self_contained(page: Page) -> None:
    """Nothing on the page can load anything: no external URLs, no url()/@import, no scripts."""
    assert not [url for url in page.resource_urls if not url.startswith("#")], page.resource_urls
    assert "url(" not in page.styles.lower() and "@import" not in page.styles.lower()
    assert not page.tags & {"script", "img", "link", "iframe", "object", "embed", "video", "audio", "source", "base", "form"}


def assert_markers_link(page: Page) -> list[tuple[int, int]]:
    """Every citation marker links to a reference anchor that exists; returns (number, page) per marker."""
    markers = []
    for href, text in page.links:
        match = re.fullmatch(r"\[(\d+), p\. (\d+)\]", " ".join(text.replace("\xa0", " ").split()))
        assert match, f"a link that is not a citation marker: {href!r} {text!r}"
        assert href == f"#ref-{match[1]}" and f"ref-{match[1]}" in page.ids, (href, text)
        markers.append((int(match[1]), int(match[2])))
    return markers


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faq(mhqa, corpus_index, tmp_path_factory):
    """Run `mhqa faq` on the session index with a fixed date."""

    def run(*args, input=None, env=None, date=True):
        dated = ("--date", DATE) if date else ()
        return mhqa("faq", *map(str, args), "--index", corpus_index, "--corpus", CORPUS, *dated, input=input, env=env)

    return run


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faq")
    (folder / "questions.txt").write_text(QUESTIONS_TXT, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def answers(mhqa, corpus_index, workdir) -> dict[str, dict]:
    """`mhqa ask --json` for every question of the sheet: what the sheets must agree with."""
    plain = workdir / "plain.txt"
    plain.write_text("\n".join(q for q, _ in ROWS) + "\n", encoding="utf-8")
    result = mhqa("ask", "--file", plain, "--json", "--index", corpus_index, "--corpus", CORPUS)
    assert result.code == 0, result.stderr
    return {row["question"]: row for row in result.json_lines()}


@pytest.fixture(scope="module")
def html_sheet(faq, workdir) -> Path:
    out = workdir / "sheet.html"
    result = faq(workdir / "questions.txt", "-o", out, "--title", "Parent evening")
    assert result.code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def md_run(faq, workdir):
    """Markdown to standard output: neither --format nor -o."""
    result = faq(workdir / "questions.txt", "--title", "Parent evening")
    assert result.code == 0, result.stderr
    return result


# --- the labelled facts the sheets rest on -----------------------------------------------------


def test_the_questions_behave_as_the_sheet_tests_assume(answers):
    assert answers[PANIC]["status"] == "answered"
    assert ("nimh-panic-disorder.pdf", 1) in {(c["source"], c["page"]) for c in answers[PANIC]["citations"]}
    assert answers[SOCIAL]["status"] == "answered" and answers[DMDD]["status"] == "answered"
    assert answers[UNCOVERED]["status"] == "refused"
    assert answers[CRISIS]["crisis"] is True and answers[CRISIS]["crisis_kind"] == "self"
    assert not any(answers[q]["crisis"] for q in ON_SHEET)
    assert answers[HELP]["status"] == "answered"


# --- HTML --------------------------------------------------------------------------------------


def test_html_sheet_structure_and_links(html_sheet, answers):
    text = html_sheet.read_text(encoding="utf-8")
    page = parse_html(text)
    assert page.lang == "en"
    assert page.headings[0] == (1, "Parent evening")
    assert [h for h in page.headings if h[0] == 1] == [(1, "Parent evening")]
    h2 = [t for level, t in page.headings if level == 2]
    assert h2 == ["Crisis resources", "General questions", "Anxiety", "Mood", "References"]
    assert [t for level, t in page.headings if level == 3] == ON_SHEET  # in input order, crisis left out
    assert CRISIS not in page.text
    # every marker links to an existing reference; the references are each cited document once
    markers = assert_markers_link(page)
    assert markers
    references = re.findall(r'<li id="ref-(\d+)">(.*?)</li>', text)
    assert [int(n) for n, _ in references] == list(range(1, len(references) + 1))
    files = [re.search(r"(nimh-[\w-]+\.pdf)", body)[1] for _, body in references]
    assert len(files) == len(set(files))
    # ... and they agree with the answers: each cited (file, page) is under the right reference
    number_of = {name: n + 1 for n, name in enumerate(files)}
    cited = {(c["source"], c["page"]) for q in ON_SHEET if answers[q]["status"] == "answered" for c in answers[q]["citations"]}
    assert {(files[n - 1], p) for n, p in markers} == cited
    for source, page_number in cited:
        body = references[number_of[source] - 1][1]
        assert re.search(rf"pages? [\d, ]*\b{page_number}\b", body), body
    assert "National Institute of Mental Health" in text  # the publisher the PDFs state
    # the uncovered question is kept, marked, and not padded
    assert NOT_COVERED in page.text
    after = page.text.split(UNCOVERED, 1)[1]
    assert after.lstrip().startswith(NOT_COVERED)
    assert after.lstrip()[len(NOT_COVERED):].lstrip().startswith("Mood")  # the next heading: nothing added
    # the crisis box and the notice
    assert "call or text 988" in page.text and "not a diagnosis or a substitute for professional care" in page.text


def test_html_sheet_is_self_contained_printable_and_escaped(html_sheet):
    text = html_sheet.read_text(encoding="utf-8")
    page = parse_html(text)
    assert_self_contained(page)
    assert "@page" in page.styles and "@media print" in page.styles
    csp = [m["content"] for m in page.meta if m.get("http-equiv", "").lower() == "content-security-policy"]
    assert csp and "default-src 'none'" in csp[0]
    # the injected question is shown as text, never as markup or a link
    assert ("3", INJECTED) in [(str(level), t) for level, t in page.headings]
    assert "<b>DMDD</b>" not in text and "&lt;b&gt;DMDD&lt;/b&gt;" in text
    assert "evil.example" not in " ".join(page.resource_urls)


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_is_the_default_on_stdout(md_run, answers):
    page = markdown_to_page(md_run.stdout)
    assert md_run.stdout.startswith("# Parent evening\n")
    assert page.headings[0] == (1, "Parent evening")
    assert [t for level, t in page.headings if level == 2] == ["General questions", "Anxiety", "Mood", "References"]
    assert [t for level, t in page.headings if level == 3] == ON_SHEET
    markers = assert_markers_link(page)
    assert len({n for n, _ in markers}) == len(re.findall(r'<a id="ref-\d+"></a>', md_run.stdout))
    assert f"*{NOT_COVERED}*" in md_run.stdout
    assert CRISIS not in md_run.stdout
    assert "Crisis resources" in page.text and "not a diagnosis" in page.text
    # the first answer's sentences are all there, verbatim
    first = answers[PANIC]["answer"]
    for line in re.sub(r" \[\d+\]", "", first).splitlines():
        assert line.strip().lstrip("• ") in page.text
    # the summary went to stderr, with the crisis line reported to the educator
    assert "left out" in md_run.stderr and "line 8" in md_run.stderr and "standard output" in md_run.stderr


def test_markdown_escapes_questions(md_run):
    page = markdown_to_page(md_run.stdout)
    assert_self_contained(page)
    assert "b" not in page.tags and "evil.example" not in " ".join(href for href, _ in page.links)
    assert (3, INJECTED) in page.headings


# --- JSON Lines --------------------------------------------------------------------------------


def test_jsonl_is_ask_json(faq, workdir, answers):
    out = workdir / "sheet.jsonl"
    result = faq(workdir / "questions.txt", "-o", out)
    assert result.code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["question"] for row in rows] == ON_SHEET
    assert rows == [answers[q] for q in ON_SHEET]


# --- inputs ------------------------------------------------------------------------------------


def test_csv_on_stdin_and_jsonl_give_the_same_sheet(faq, workdir, md_run):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Section", "Question"])
    writer.writerows([(section or "", question) for question, section in ROWS])
    from_csv = faq("-", "--input-format", "csv", "--title", "Parent evening", input="\ufeff" + buffer.getvalue())
    assert from_csv.code == 0, from_csv.stderr
    assert from_csv.stdout == md_run.stdout

    jsonl = workdir / "questions.jsonl"
    jsonl.write_text("".join(json.dumps({"question": q, **({"section": s} if s else {})}) + "\n" for q, s in ROWS), encoding="utf-8")
    from_jsonl = faq(jsonl, "--format", "md", "--title", "Parent evening")
    assert from_jsonl.code == 0, from_jsonl.stderr
    assert from_jsonl.stdout == md_run.stdout


def test_text_on_stdin(faq):
    result = faq("-", "--format", "jsonl", input=f"# a comment\n\n## Only section\n{UNCOVERED}\n")
    assert result.code == 0, result.stderr
    (row,) = result.json_lines()
    assert row["question"] == UNCOVERED and row["status"] == "refused"


@pytest.mark.parametrize(
    ("args", "input", "message"),
    [
        (("-", "-o", "sheet.pdf"), PANIC, "cannot tell the format"),
        (("-", "--format", "docx"), PANIC, "unknown format"),
        (("-", "--input-format", "csv"), "section,text\nA,What is OCD?\n", "no 'question' column"),
        (("-", "--input-format", "jsonl"), '{"q": 1}\n', "line 1"),
        (("-",), "# only a comment\n\n", "no questions"),
        (("-", "--date", "06/05/2024"), PANIC, "YYYY-MM-DD"),
    ],
)
def test_usage_errors(faq, args, input, message):
    result = faq(*args, input=input, date=False)
    assert result.code == 2, (result.stdout, result.stderr)
    assert message in result.stderr and "Traceback" not in result.stderr


# --- determinism -------------------------------------------------------------------------------


def test_same_questions_same_index_same_bytes(faq, workdir, html_sheet):
    again = workdir / "again.html"
    result = faq(workdir / "questions.txt", "-o", again, "--title", "Parent evening", date=False, env={"SOURCE_DATE_EPOCH": DATE_EPOCH})
    assert result.code == 0, result.stderr
    assert again.read_bytes() == html_sheet.read_bytes()
    assert f"Prepared {DATE}." in again.read_text(encoding="utf-8")


# --- a PDF that carries markup -----------------------------------------------------------------


def test_markup_in_a_pdf_is_escaped(mhqa, tmp_path):
    from pdf_fixtures import text_pdf

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    text_pdf(
        corpus / "grounding.pdf",
        ["Grounding exercises for panic attacks\n"  # (answers never quote a sentence with a web address)
         "Grounding exercises can calm a racing mind during a panic attack <script>alert(1)</script> "
         "[our page](javascript:alert(2)). Slow breathing also helps the body settle after a panic attack "
         "<img src=x onerror=alert(3)> **now** &amp; _then_."],
        title='Grounding <a href="http://evil.example">guide</a>',
    )
    assert mhqa("index", "--corpus", corpus, "--index", index).code == 0
    question = "Can grounding exercises calm a racing mind during a panic attack?"
    where = ("--index", index, "--corpus", corpus)
    answer_anyway = {"MHQA_MIN_EVIDENCE": "0"}  # this test is about escaping, not about refusing
    asked = mhqa("ask", question, "--json", *where, env=answer_anyway).json_lines()[0]
    assert asked["status"] == "answered" and "<" in asked["answer"]  # the answer quotes the markup
    html_run = mhqa("faq", "-", "--format", "html", "--date", DATE, *where, input=question, env=answer_anyway)
    md_run = mhqa("faq", "-", "--date", DATE, *where, input=question, env=answer_anyway)
    assert html_run.code == 0 and md_run.code == 0, html_run.stderr + md_run.stderr
    page, md_page = parse_html(html_run.stdout), markdown_to_page(md_run.stdout)
    for rendered in (page, md_page):
        assert_self_contained(rendered)
        assert_markers_link(rendered)
        # the PDF's text and title are shown as they are, as text
        assert re.sub(r" \[\d+\]", "", asked["answer"]) in rendered.text
        assert 'Grounding <a href="http://evil.example">guide</a>' in rendered.text
    assert "&lt;script&gt;" in html_run.stdout and not re.search(r"<(script|img)|href=\"(http|javascript)", html_run.stdout)
    assert "http://" not in md_run.stdout and "www.evil" not in md_run.stdout  # not even GFM's bare-URL links


# --- a real browser ----------------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("MHQA_REQUIRE_TOOLS") == "1":
            pytest.fail("chromium is required (MHQA_REQUIRE_TOOLS=1) but not installed")
        pytest.skip("chromium is not installed")
    return found


def _run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
    ]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=180)


@pytest.mark.browser
def test_html_sheet_renders_in_chromium(html_sheet, answers, tmp_path):
    chromium = _chromium()
    url = html_sheet.resolve().as_uri()

    shot = tmp_path / "sheet.png"
    result = _run_chromium(chromium, tmp_path / "profile", "--window-size=900,1400", f"--screenshot={shot}", url)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (900, 1400)
    assert len(data) > 20_000  # a blank page compresses to a few hundred bytes

    result = _run_chromium(chromium, tmp_path / "profile", "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = parse_html(result.stdout)
    assert (1, "Parent evening") in dom.headings
    first_sentence = re.sub(r" \[\d+\]", "", answers[PANIC]["answer"]).splitlines()[0]
    assert first_sentence in dom.text
    assert_markers_link(dom)


def print_with_chromium(chromium: str, profile: Path, url: str, paper_inches: tuple[float, float]) -> bytes:
    """Print `url` to PDF on paper of the given size, as a user does whose printer takes that paper.

    The paper size is the printer's (DevTools' Page.printToPDF, spoken over --remote-debugging-pipe:
    JSON messages ending in a NUL byte, commands on fd 3, answers on fd 4); whatever the page's own
    CSS says (margins, print styles, a pinned size) applies as it would in a browser's print dialog.
    """
    commands_read, commands_write = os.pipe()
    answers_read, answers_write = os.pipe()

    def child_fds() -> None:
        os.dup2(commands_read, 3)
        os.dup2(answers_write, 4)

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-pipe"]
    browser = subprocess.Popen([chromium, *flags, "about:blank"], pass_fds=(3, 4), preexec_fn=child_fds,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(commands_read)
    os.close(answers_write)
    pending, sent, seen = b"", 0, []

    def receive() -> dict:
        nonlocal pending
        while b"\0" not in pending:
            ready, _, _ = select.select([answers_read], [], [], 120)
            chunk = os.read(answers_read, 1 << 20) if ready else b""
            assert chunk, "chromium stopped answering"
            pending += chunk
        message, pending = pending.split(b"\0", 1)
        return json.loads(message)

    def call(method: str, params: dict | None = None, session: str | None = None) -> dict:
        nonlocal sent
        sent += 1
        os.write(commands_write, json.dumps({"id": sent, "method": method, "params": params or {}, **({"sessionId": session} if session else {})}).encode() + b"\0")
        while (message := receive()).get("id") != sent:
            seen.append(message.get("method"))
        assert "error" not in message, message
        return message["result"]

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        call("Page.enable", session=session)
        seen.clear()
        call("Page.navigate", {"url": url}, session)
        while "Page.loadEventFired" not in seen:
            seen.append(receive().get("method"))
        width, height = paper_inches
        printed = call("Page.printToPDF", {"paperWidth": width, "paperHeight": height, "preferCSSPageSize": True, "printBackground": True}, session)
        call("Browser.close")
        return base64.b64decode(printed["data"])
    finally:
        os.close(commands_write)
        os.close(answers_read)
        if browser.poll() is None:
            try:
                browser.wait(30)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()


MM = 72 / 25.4  # PDF points per millimetre


def page_margins_mm(css: str) -> tuple[float, float, float, float]:
    """(top, right, bottom, left) of the sheet's own `@page { margin: ... }`, in millimetres."""
    rule = re.search(r"@page\s*\{([^}]*)\}", css)
    assert rule, "the sheet's CSS has no @page rule"
    assert not re.search(r"\bsize\s*:", rule.group(1)), "the sheet pins a paper size: it would not fit the other paper"
    values = [float(v) for v in re.findall(r"([\d.]+)mm", re.search(r"margin\s*:([^;]*);", rule.group(1)).group(1))]
    top, right, bottom, left = {1: values * 4, 2: values * 2, 3: [*values, values[1]], 4: values}[len(values)]
    return top, right, bottom, left


def text_positions(reader) -> list[tuple[int, float, float, float]]:
    """(page, x, y, font size in points) of every piece of text in a PDF."""
    found = []
    for number, page in enumerate(reader.pages):
        def visit(text, cm, tm, font, size, number=number):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                found.append((number, x, y, round(size * abs(tm[3] * cm[3] or 1), 2)))
        page.extract_text(visitor_text=visit)
    return found


@pytest.mark.browser
@pytest.mark.parametrize(("paper", "inches"), [("A4", (210 / 25.4, 297 / 25.4)), ("letter", (8.5, 11.0))])
def test_html_sheet_prints_on_a4_and_letter(html_sheet, tmp_path, paper, inches):
    """The sheet as it is, printed on the user's paper: every page that size, the sheet's own margins
    and print styles applied, nothing lost."""
    from collections import Counter

    from pypdf import PdfReader

    chromium = _chromium()
    html = html_sheet.read_text(encoding="utf-8")
    css = re.search(r"<style>(.*?)</style>", html, re.DOTALL).group(1)
    top, right, bottom, left = page_margins_mm(css)
    body_size = float(re.search(r"@media print\s*\{\s*body\s*\{[^}]*font-size:\s*([\d.]+)pt", css).group(1))
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(print_with_chromium(chromium, tmp_path / "profile", html_sheet.resolve().as_uri(), inches))
    reader = PdfReader(pdf)
    width, height = inches[0] * 72, inches[1] * 72
    assert len(reader.pages) >= 2
    for page in reader.pages:
        assert abs(float(page.mediabox.width) - width) < 1 and abs(float(page.mediabox.height) - height) < 1
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert "Parent evening" in text and NOT_COVERED in text and "References" in text
    assert "not a diagnosis or a substitute for professional care" in text
    # Every line starts inside the sheet's own page margins, and the text column starts exactly at the left one.
    positions = text_positions(reader)
    assert abs(min(x for _, x, _, _ in positions) - left * MM) < 1.0
    assert all(left * MM - 0.5 <= x < width - right * MM for _, x, _, _ in positions)
    assert all(bottom * MM <= y <= height - top * MM for _, _, y, _ in positions)
    # The print styles apply: the body text is set in the sheet's print size.
    assert Counter(size for _, _, _, size in positions).most_common(1)[0][0] == body_size


# --- the sample for educators ------------------------------------------------------------------


def test_sample_questions_for_educators(faq):
    result = faq(DATA / "faq-sample.txt")
    assert result.code == 0, result.stderr
    page = markdown_to_page(result.stdout)
    assert len([h for h in page.headings if h[0] == 3]) == sum(
        1 for line in (DATA / "faq-sample.txt").read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")
    )
    assert_markers_link(page)
    assert NOT_COVERED in page.text  # the sample shows an uncovered question too
