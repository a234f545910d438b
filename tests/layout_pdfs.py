"""PDFs in layouts the shipped corpus does not have, written with fpdf2: two columns, footnotes,
a table, running headers that change from page to page, a numbered guideline.

The text is public domain: sentences of the U.S. National Institute of Mental Health's
publications (17 U.S.C. 105), set in new layouts with ASCII punctuation (the PDF core
fonts are Latin-1). The publishers, publication numbers and dates the PDFs print
("Example Health Service", ...) are made up, so that nothing in them is NIMH's.

Each builder returns what a correct ingest must give back: the paragraphs (table rows,
recommendations) whose sentences must come out whole, each on the page it starts on, and
text that must not come out at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PUBLISHER = "Example Health Service"


@dataclass
class Layout:
    path: Path
    title: str
    paragraphs: list[str]  # paragraphs, table rows (cells joined by spaces), recommendations
    absent: list[str] = field(default_factory=list)  # headers, footers, footnote markers glued to words


def _pdf(title: str, author: str | None = None):
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_margins(20, 20, 20)
    return pdf


def _heading(pdf, text: str, size: float = 18) -> None:
    pdf.set_font("Helvetica", "B", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _body(pdf, size: float = 10.5) -> None:
    pdf.set_font("Helvetica", "", size)


# --- two columns ---------------------------------------------------------------------------------

SAD_PAGE_1 = [
    "Many people go through short periods when they feel sad or unlike their usual selves. Sometimes, these mood changes begin and end when the seasons change. Many people feel down or have the winter blues when the days get shorter in the fall and winter and feel better in the spring when longer daylight hours return.",
    "Sometimes, these mood changes are more serious and can affect how a person feels, thinks, and behaves. If you have noticed significant changes in your mood and behavior when the seasons change, you may be experiencing seasonal affective disorder (SAD).",
    "In most cases, SAD symptoms start in the late fall or early winter and go away during the spring and summer, known as winter-pattern SAD or winter depression. Other people experience depressive symptoms during the spring and summer months, known as summer-pattern SAD or summer depression. Summer-pattern SAD is less common.",
    "Winter-pattern SAD should not be confused with holiday blues, feelings of sadness or anxiety brought on by stresses at certain times of the year. The depression associated with SAD is related to changes in daylight hours, not the calendar.",
    "It is estimated that millions of Americans experience SAD, although many may not know they have this common disorder. In most cases, SAD begins in young adulthood.",
    "Winter-pattern SAD also occurs more often than summer-pattern SAD. Therefore, SAD is more common in people living farther north, where there are shorter daylight hours in the winter. For example, people in Alaska or New England are more likely to develop SAD than people in Texas or Florida.",
]
SAD_PAGE_2 = [
    "Studies indicate that people with SAD, especially winter-pattern SAD, have reduced levels of the brain chemical serotonin, which helps regulate mood. Research also suggests that sunlight affects levels of molecules that help maintain normal serotonin levels.",
    "Vitamin D deficiency may exacerbate these problems in people with winter-pattern SAD because vitamin D is believed to promote serotonin activity. In addition to vitamin D consumed in food, the body produces vitamin D when exposed to sunlight on the skin.",
    "Other studies suggest that both forms of SAD relate to altered levels of melatonin, a hormone important for maintaining the normal sleep-wake cycle. People with winter-pattern SAD produce too much melatonin, which can increase sleepiness and lead to oversleeping.",
    "Since the 1980s, light therapy has been a mainstay for treating winter-pattern SAD. It aims to expose people with SAD to a bright light to make up for the diminished natural sunlight in darker months.",
    "For this treatment, the person sits in front of a very bright light box every day for about 30 to 45 minutes, usually first thing in the morning, from fall to spring.",
]


def two_columns(path: Path) -> Layout:
    """A leaflet set in two columns; paragraphs run on from the foot of the left column to the head of the right one."""
    title = "Seasonal Affective Disorder: A Leaflet in Two Columns"
    pdf = _pdf(title)
    for number, paragraphs in enumerate((SAD_PAGE_1, SAD_PAGE_2), 1):
        pdf.add_page()
        if number == 1:
            _heading(pdf, title)
        _body(pdf)
        with pdf.text_columns(ncols=2, gutter=8, balance=True, text_align="L", l_margin=20, r_margin=20) as columns:
            for paragraph in paragraphs:
                columns.write(paragraph + "\n")
                columns.ln(2)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_y(-32)
    pdf.multi_cell(0, 4, f"Published by the {PUBLISHER}. Publication No. EHS-2023-07. Last updated: 14 March 2023. This leaflet is in the public domain.")
    pdf.output(str(path))
    return Layout(path, title, SAD_PAGE_1 + SAD_PAGE_2)


# --- footnotes -----------------------------------------------------------------------------------

PTSD_PAGE_1 = [
    "It is natural to feel afraid during and after a traumatic situation. Fear is a part of the body's fight-or-flight response, which helps us avoid or respond to potential danger.{1} People may experience a range of reactions after trauma, and most will recover from their symptoms over time.",
    "Anyone can develop PTSD at any age. This includes combat veterans and people who have experienced or witnessed a physical or sexual assault, abuse, an accident, a disaster, a terror attack, or other serious events.{2} People who have PTSD may feel stressed or frightened, even when they are no longer in danger.",
    "Symptoms of PTSD usually begin within 3 months of the traumatic event, but they sometimes emerge later. To meet the criteria for PTSD, a person must have symptoms for longer than 1 month, and the symptoms must be severe enough to interfere with aspects of daily life, such as relationships or work.",
    "The course of the disorder varies. Although some people recover within 6 months, others have symptoms that last for 1 year or longer.",
]
# Runs from the foot of page 1 onto page 2, with page 1's footnotes between its two halves.
PTSD_ACROSS = (
    "After a dangerous event, it is natural to have some symptoms. For example, some people may feel detached from the experience, "
    "as though they are observing things as an outsider rather than experiencing them. A mental health professional, such as a psychiatrist, "
    "psychologist, or clinical social worker, can determine whether symptoms meet the criteria for PTSD.{3} Not everyone who lives through a "
    "dangerous event develops PTSD, and many factors play a part. Some of these factors are present before the trauma; others play a role "
    "during and after a traumatic event. Children and teens can have extreme reactions to traumatic events, but their symptoms may not be "
    "the same as those seen in adults."
)
PTSD_PAGE_2 = [
    "Psychotherapy can occur one on one or in a group and usually lasts 6 to 12 weeks, but it can last longer.{4} Research shows that support from family and friends can be an important part of recovery.",
]
FOOTNOTES = {
    1: ["1 The fight-or-flight response is described in the Example Health Service booklet on stress.", "2 Examples are taken from the Example Health Service survey of 2022."],
    2: ["3 See the chapter on assessment.", "4 Group programmes are offered by most local services."],
}


def _with_markers(text: str) -> list[tuple[str, bool]]:
    """'...danger.{1} People' -> [('...danger.', False), ('1', True), (' People', False)]."""
    parts: list[tuple[str, bool]] = []
    while "{" in text:
        before, rest = text.split("{", 1)
        marker, text = rest.split("}", 1)
        parts += [(before, False), (marker, True)]
    return parts + [(text, False)]


def _plain(text: str) -> str:
    return "".join(part for part, marker in _with_markers(text) if not marker)


def footnotes(path: Path) -> Layout:
    """Superscript markers in the text, the notes at the foot of the page in a smaller type, a paragraph over the page break."""
    from fpdf import FPDF

    title = "Post-Traumatic Stress: Notes for Families"

    class WithFootnotes(FPDF):
        def footer(self):
            self.set_y(-32)
            self.set_font("Helvetica", "", 7.5)
            for note in FOOTNOTES.get(self.page_no(), []):
                self.multi_cell(0, 3.6, note, new_x="LMARGIN", new_y="NEXT")

    pdf = WithFootnotes(format=(148, 210))  # A5
    pdf.set_title(title)
    pdf.set_author(PUBLISHER)
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=34)
    pdf.add_page()
    _heading(pdf, title, 15)
    for paragraph in [*PTSD_PAGE_1, PTSD_ACROSS, *PTSD_PAGE_2]:
        if paragraph == PTSD_ACROSS:
            assert pdf.page_no() == 1, "the paragraph that runs over the page break must start on page 1"
        for text, marker in _with_markers(paragraph):
            pdf.set_font("Helvetica", "", 6.5 if marker else 10.5)
            pdf.char_vpos = "SUP" if marker else "LINE"
            pdf.write(5.5, text)
        pdf.char_vpos = "LINE"
        pdf.write(5.5, "\n")
        if paragraph == PTSD_ACROSS:
            assert pdf.page_no() == 2, "the paragraph must run onto page 2"
        pdf.ln(2.5)
    pdf.output(str(path))
    notes = [note for page in FOOTNOTES.values() for note in page]
    return Layout(path, title, [_plain(p) for p in (*PTSD_PAGE_1, PTSD_ACROSS, *PTSD_PAGE_2)] + notes, absent=["danger.1", "events.2", "PTSD.3", "longer.4"])


# --- a table -------------------------------------------------------------------------------------

GAD_TABLE = [
    ("Medication", "What it is", "How long it takes"),
    ("SSRI and SNRI antidepressants", "Commonly used to treat depression, they also can help treat the symptoms of GAD", "Several weeks to start working"),
    ("Benzodiazepines", "Anti-anxiety sedative medications for severe forms of GAD", "Rapidly decrease anxiety"),
    ("Buspirone", "An anti-anxiety medication that is not a sedative", "3 to 4 weeks to be fully effective"),
]
GAD_TABLE_BEFORE = "GAD treatment typically involves psychotherapy, medication, or both. Health care providers may prescribe medication to treat GAD. Different types of medication can be effective."
GAD_TABLE_AFTER = "Some people build up a tolerance to benzodiazepines and need increasing doses to get the same effect. Therefore, a health care provider may prescribe them only for brief periods of time."


def table(path: Path) -> Layout:
    title = "Generalized Anxiety Disorder: Medicines at a Glance"
    pdf = _pdf(title, PUBLISHER)
    pdf.add_page()
    _heading(pdf, title)
    _body(pdf)
    pdf.multi_cell(0, 5.5, GAD_TABLE_BEFORE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(45, 80, 45), text_align="LEFT", line_height=5.5) as grid:
        for cells in GAD_TABLE:
            row = grid.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(4)
    pdf.multi_cell(0, 5.5, GAD_TABLE_AFTER, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return Layout(path, title, [GAD_TABLE_BEFORE, *(" ".join(cells) for cells in GAD_TABLE[1:]), GAD_TABLE_AFTER])


# --- running headers that change ------------------------------------------------------------------

DEPRESSION_PAGES = {
    1: "To be diagnosed with depression, a person must have symptoms most of the day, nearly every day, for at least 2 weeks. One of the symptoms must be a depressed mood or a loss of interest or pleasure in most activities.",
    2: "Certain medications and medical conditions, such as viruses or thyroid disorders, can cause the same symptoms as depression. A provider can rule out these possibilities by doing a physical exam, interview, and lab tests.",
    3: "For milder forms of depression, psychotherapy is often tried first, with medication added later if the therapy alone does not produce a good response. People with moderate or severe depression usually are prescribed medication as part of the initial treatment plan.",
    4: "Antidepressants are medications commonly used to treat depression. They work by changing how the brain produces or uses certain chemicals involved in mood or stress.",
    5: "Treatment-resistant depression occurs when a person does not get better after trying at least two antidepressants.",
    6: "While increased use of alcohol or drugs can be a sign of depression in any person, men are also more likely to use these substances as a coping strategy.",
}
CHAPTERS = {1: "Diagnosis", 2: "Diagnosis", 3: "Treatment", 4: "Treatment", 5: "Treatment", 6: "Men and depression"}


def running_headers(path: Path) -> Layout:
    """Headers that alternate between odd and even pages and name the chapter; a footer with the page count."""
    from fpdf import FPDF

    title = "Depression in Adults: A Guide in Six Pages"

    class WithHeaders(FPDF):
        def header(self):
            self.set_font("Helvetica", "I", 8)
            text = f"{PUBLISHER} - Depression in adults" if self.page_no() % 2 else f"Chapter {self.page_no() // 2 + 1}: {CHAPTERS[self.page_no()]}"
            self.cell(0, 5, text, align="R" if self.page_no() % 2 else "L", new_x="LMARGIN", new_y="NEXT")
            self.ln(6)

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 5, f"EHS guideline 12, revised 2022 | page {self.page_no()} of 6", align="C")

    pdf = WithHeaders(format="A4")
    pdf.set_title(title)
    pdf.set_margins(20, 20, 20)
    for page, text in DEPRESSION_PAGES.items():
        pdf.add_page()
        if page == 1:
            _heading(pdf, title)
        _heading(pdf, CHAPTERS[page], 13)
        _body(pdf, 11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return Layout(path, title, list(DEPRESSION_PAGES.values()), absent=["Depression in adults", "Chapter 2", "EHS guideline 12", "page 3 of 6"])


# --- a numbered guideline ------------------------------------------------------------------------

RECOMMENDATIONS = {
    1: [
        ("1", "Recognising generalized anxiety disorder"),
        ("1.1.1", "Be aware that GAD develops gradually and usually starts in early adulthood, although it can occur at any age."),
        ("1.1.2", "Be aware that, to be diagnosed with GAD, a person must find it difficult to control worry on most days for at least 6 months."),
        ("1.1.3", "Ask about other mental and physical health conditions, including depression, other anxiety disorders, post-traumatic stress disorder, chronic pain syndromes, or suicidal thoughts or behaviors, because GAD is commonly associated with them."),
    ],
    2: [
        ("2", "Treating generalized anxiety disorder"),
        ("2.1.1", "Offer cognitive behavioral therapy, a research-supported type of psychotherapy that is commonly used to treat GAD."),
        ("2.1.2", "Consider acceptance and commitment therapy, which uses strategies such as mindfulness and goal setting to reduce a person's discomfort and anxiety."),
        ("2.1.3", "Prescribe benzodiazepines only for brief periods of time, because some people build up a tolerance to them and need increasing doses to get the same effect."),
    ],
}


def numbered_guideline(path: Path) -> Layout:
    """Numbered sections and numbered recommendations, each wrapping over several lines."""
    title = "Generalized Anxiety Disorder: Recommendations"
    pdf = _pdf(title, PUBLISHER)
    for page, items in RECOMMENDATIONS.items():
        pdf.add_page()
        if page == 1:
            _heading(pdf, title)
        for number, text in items:
            if "." not in number:
                _heading(pdf, f"{number} {text}", 13)
                continue
            _body(pdf, 11)
            pdf.multi_cell(0, 6, f"{number} {text}", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))
    return Layout(path, title, [f"{n} {t}" for items in RECOMMENDATIONS.values() for n, t in items if "." in n])


BUILDERS = {
    "two-columns.pdf": two_columns,
    "footnotes.pdf": footnotes,
    "table.pdf": table,
    "running-headers.pdf": running_headers,
    "numbered-guideline.pdf": numbered_guideline,
}


def build_all(folder: Path) -> dict[str, Layout]:
    folder.mkdir(parents=True, exist_ok=True)
    return {name: build(folder / name) for name, build in BUILDERS.items()}
