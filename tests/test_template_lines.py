"""Every template line fits in 120 characters (djLint's max_line_length), so a template reads without scrolling."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LIMIT = 120


def test_no_template_line_is_longer_than_120_characters() -> None:
    long_lines = [
        f"{path.relative_to(TEMPLATES)}:{number} ({len(line)} characters)"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in {".html", ".txt"}
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if len(line) > LIMIT
    ]
    assert long_lines == []
