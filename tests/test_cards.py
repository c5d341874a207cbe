"""A board card from its template: what it shows, escaped, and remembered under what it shows."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from backend.domain.remedies import cards
from backend.domain.remedies.board import Card, CardTask
from backend.settings import PROJECT_ROOT
from backend.web.templating import template_config

ENVIRONMENT = template_config(PROJECT_ROOT / "templates", globals_={}).engine_instance.engine
BASE = "/t/ha-tinh/so-ngoai-vu/ke-hoach/2025"


def _card(title: str = "Sửa quy chế", version: int = 1, **card: object) -> Card:
    task = CardTask(
        uuid.uuid4(),
        7,
        version,
        0,
        uuid.uuid4(),
        "1",
        "1.2",
        "fix",
        title,
        date(2025, 6, 30),
        "",
        Decimal("0.080"),
        None,
    )
    fields: dict[str, object] = {"lead_unit": "Văn phòng", "assignees": ("An",), "overdue": False, "due_soon": False}
    fields.update(card)
    return Card(task, **fields)  # type: ignore[arg-type]


def test_card_shows_its_task_in_vietnamese() -> None:
    card = _card(overdue=True)
    html = str(cards.cards_html(ENVIRONMENT, [card], {card.task.id}, BASE))
    assert f'id="card-{card.task.id}"' in html
    assert f'aria-describedby="card-{card.task.id}-meta board-keys"' in html
    assert "KP-7" in html
    assert "TC 1.2" in html
    assert "Hạn 30/06/2025" in html
    assert "−0,08 điểm" in html
    assert "Quá hạn" in html
    assert 'class="card is-overdue"' in html
    assert f'href="{BASE}/the/7/di-chuyen"' in html


def test_card_not_editable_is_locked_without_move_form() -> None:
    card = _card()
    html = str(cards.cards_html(ENVIRONMENT, [card], set(), BASE))
    assert 'class="card is-locked"' in html
    assert "card-move" not in html
    assert f'aria-describedby="card-{card.task.id}-meta"' in html


def test_card_escapes_what_people_typed() -> None:
    card = _card(title='<script>alert("x")</script>', lead_unit="Phòng <A>", assignees=("<b>",))
    html = str(cards.cards_html(ENVIRONMENT, [card], set(), BASE))
    assert "<script>" not in html
    assert "<b>" not in html
    assert "Phòng <A>" not in html
    assert "&lt;script&gt;" in html
    assert "Phòng &lt;A&gt;" in html


def test_card_is_rendered_again_only_when_what_it_shows_changes() -> None:
    calls: list[int] = []

    def render(card: Card, editable: bool, base: str) -> str:
        calls.append(card.task.version)
        return "card"

    card = _card(title=f"Thẻ {uuid.uuid4()}")
    cards.card_html(card, True, BASE, render)
    cards.card_html(card._replace(task=card.task._replace(position=5)), True, BASE, render)  # pushed down its cell
    assert calls == [1]
    cards.card_html(card._replace(task=card.task._replace(version=2)), True, BASE, render)
    assert calls == [1, 2]
