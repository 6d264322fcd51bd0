"""Text people type, shown to others: what a one-line field refuses, and how free text is
kept from reordering what surrounds it.

A name with a right-to-left override (U+202E) displays reversed, and can drag the words after
it along; a CR/LF breaks every line-based format it reaches (iCalendar, email headers). One-line
fields refuse both (shared.fields.OneLine); free text keeps them, and is isolated where shown
(<bdi> in HTML, FSI ... PDI in the PDF record).
"""

from __future__ import annotations

import re

# C0 and C1 controls (CR and LF among them), line and paragraph separators, and the bidi
# embeddings, overrides and isolates.
_REFUSED = r"\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_NOT_ONE_LINE = re.compile(f"[{_REFUSED}]")
# The same rule as a JSON Schema pattern, for the OpenAPI documents.
ONE_LINE_PATTERN = f"^[^{_REFUSED}]*$"
NOT_ONE_LINE = "Use one line of plain text: no line breaks, control or text-direction characters."

FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


def one_line_problem(text: str) -> str | None:
    """Why `text` cannot be a one-line text field, or None."""
    return NOT_ONE_LINE if _NOT_ONE_LINE.search(text) else None


def one_line(text: str) -> str:
    """`text` made one line, for output that cannot hold more (text stored before the check)."""
    return " ".join(_NOT_ONE_LINE.sub(" ", text).split())


def isolate(text: str) -> str:
    """`text` between FSI and PDI: its direction cannot leak into the text around it."""
    return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"
