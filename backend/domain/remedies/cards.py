"""A board card's HTML, rendered from its template (`templates/remedies/_card.html`) and remembered: the board
page is mostly cards, and a card only changes when what it shows changes.

The cache is per process, bounded, and keyed by everything the card shows (so an edit, a move, a renamed unit,
a new assignee or tomorrow's overdue badge each make a new entry; nothing needs invalidating, and several
processes never disagree). A miss costs one macro call; a board of 600 known cards costs 600 dictionary
look-ups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from jinja2 import Environment, pass_environment
from markupsafe import Markup

if TYPE_CHECKING:
    import uuid

    from backend.domain.remedies.board import Card

TEMPLATE = "remedies/_card.html"
CACHE_SIZE = 50_000
_cache: dict[tuple[object, ...], str] = {}


def card_html(card: Card, editable: bool, base: str, render: Callable[[Card, bool, str], str]) -> str:
    task = card.task
    key = (  # what the card shows: not its position, column or area, so a card pushed down its cell still hits;
        base,  # plain values only (the id as an int), so the garbage collector need not walk 50,000 keys
        task.id.int,
        task.number,
        task.version,
        task.criterion_code,
        task.kind,
        task.title,
        task.due_date,
        task.deadline_text,
        task.points_lost,
        card.lead_unit,
        card.assignees,
        card.overdue,
        card.due_soon,
        card.evidence_count,
        card.origin,
        card.carried,  # where an archive's task went, its link as this reader may follow it
        editable,
    )
    html = _cache.get(key)
    if html is None:
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()  # crude but bounded; a full board is rendered again in a few milliseconds
        html = _cache[key] = str(render(card, editable, base))
    return html


@pass_environment
def cards_html(
    environment: Environment, cards: Iterable[Card], editable: set[uuid.UUID] | frozenset[uuid.UUID], base: str
) -> Markup:
    """A cell's cards, for the board template (`{{ cards_html(cards, editable, base) }}`; Jinja passes its
    environment, whose compiled card template it keeps)."""
    render = environment.get_template(TEMPLATE).module.card  # type: ignore[attr-defined]
    return Markup("".join([card_html(card, card.task.id in editable, base, render) for card in cards]))  # noqa: S704 - escaped by the template
