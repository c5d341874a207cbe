"""Every template line fits in 120 characters (djLint's max_line_length), so a template reads without scrolling."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LIMIT = 120

# Templates still being wrapped (issue 22); a file leaves this list when its last long line is wrapped.
NOT_YET_WRAPPED = frozenset(
    {

    }
)


def long_lines() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix in {".html", ".txt"}:
            numbers = [n for n, line in enumerate(path.read_text().splitlines(), 1) if len(line) > LIMIT]
            if numbers:
                found[path.relative_to(TEMPLATES).as_posix()] = numbers
    return found


def test_no_template_line_is_longer_than_120_characters() -> None:
    found = long_lines()
    assert {name: lines for name, lines in found.items() if name not in NOT_YET_WRAPPED} == {}
    assert sorted(NOT_YET_WRAPPED - found.keys()) == [], "wrapped now: take these off NOT_YET_WRAPPED"
