"""Reading the HTML of a page in a test without depending on how its templates are laid out."""

from __future__ import annotations

import re

_LAYOUT_BESIDE_TAG = re.compile(r"(?<=>)[ \t]*\n\s*|[ \t]*\n\s*(?=<)")
_LAYOUT_IN_TEXT = re.compile(r"[ \t]*\n\s*")
_INDENT_IN_LINE = re.compile(r"[ \t]{2,}")


def squash(html: str) -> str:
    """`html` without its templates' layout: a test matches what a page says, not how its template is indented.

    A line break and the indentation around it are layout: beside a tag they go (as between block elements, where
    the browser shows nothing), within text they become one space (as the browser shows them). A run of spaces
    within a line (a template's indentation left after Jinja trimmed the line break before it) is one space too,
    but a space is never added, so "</a> (" and "</a>(" still differ. Not for text kept as typed (`<pre>`,
    `<textarea>`, `.pre`): match those on the page itself.
    """
    return _INDENT_IN_LINE.sub(" ", _LAYOUT_IN_TEXT.sub(" ", _LAYOUT_BESIDE_TAG.sub("", html)))
