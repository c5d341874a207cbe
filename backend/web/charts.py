"""Server-side SVG charts: points per area, the total over the years, and a heatmap of points lost.

Each chart is a standalone SVG document (xmlns, width/height, viewBox) that can also be inlined into HTML.
It reads without colour: every bar, point and cell carries its number as text, and `<title>`/`<desc>` describe
it to screen readers. Text from data is always XML-escaped; there is no script, `style` or external reference,
so the markup passes a strict CSP. Values are Decimals; floats appear only for pixel geometry.
"""

from __future__ import annotations

import hashlib
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

from backend.web.formatting import vn_number

FONT = "Noto Sans, DejaVu Sans, sans-serif"
INK, MUTED, GRID, TRACK, BAR = "#1f2933", "#52606d", "#cbd2d9", "#e4e7eb", "#2f6f9f"
NO_DATA = "Chưa có dữ liệu"
# ColorBrewer "Reds", five classes: the share of the maximum lost, by fifths. The two darkest take white text.
HEAT_STEPS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
HEAT_LABELS = ("đến 20 %", "20–40 %", "40–60 %", "60–80 %", "80–100 %")
CAPTION_LINE = 20  # px between the lines of a wrapped caption
CHAR_EM = 0.58  # average glyph width of Noto Sans in em, to size labels without measuring fonts
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # would make the document ill-formed


@dataclass(frozen=True)
class AreaBar:
    code: str
    title: str
    achieved: Decimal | None  # None: not scored yet
    max_points: Decimal


@dataclass(frozen=True)
class YearPoint:
    year: int
    total: Decimal | None
    max_points: Decimal
    rank: int | None = None
    of: int | None = None


@dataclass(frozen=True)
class HeatCell:
    row: str
    column: str
    lost: Decimal  # max − achieved
    max_points: Decimal


def _esc(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("", value))


def _px(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _fit(text: str, width: float, size: float) -> str:
    """The text cut with an ellipsis to about `width` pixels."""
    chars = max(2, int(width / (size * CHAR_EM)))
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _text(x: float, y: float, content: str, *, size: float = 12, anchor: str = "start", **kw: str) -> str:
    """A `<text>`; keyword attributes are escaped, `cls` becomes class, underscores become hyphens."""
    attrs = {"fill": INK, **kw}
    extra = "".join(f" {'class' if k == 'cls' else k.replace('_', '-')}={_attr(v)}" for k, v in attrs.items())
    return (
        f'<text x="{_px(x)}" y="{_px(y)}" font-size="{_px(size)}" text-anchor="{anchor}"{extra}>{_esc(content)}</text>'
    )


def _document(kind: str, width: float, height: float, caption: str, desc: str, body: str) -> str:
    # Ids derive from the content, so two different charts inlined in one page never share one.
    uid = f"{kind}-{hashlib.blake2s((caption + desc + body).encode(), digest_size=5).hexdigest()}"
    # A caption wider than the chart wraps onto more lines (never cut off) and the chart moves down under it.
    lines = textwrap.wrap(caption, max(8, int((width - 32) / (15 * CHAR_EM)))) or [""]
    extra = CAPTION_LINE * (len(lines) - 1)
    w, h = _px(width), _px(height + extra)
    heading = "".join(
        f'<tspan x="16" dy="{0 if i == 0 else CAPTION_LINE}">{_esc(line)}</tspan>' for i, line in enumerate(lines)
    )
    shifted = f'<g transform="translate(0,{_px(extra)})">{body}</g>' if extra else body
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="{uid}-title {uid}-desc" font-family="{FONT}" class="chart chart-{kind}">'
        f'<title id="{uid}-title">{_esc(caption)}</title><desc id="{uid}-desc">{_esc(desc)}</desc>'
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        f'<text x="16" y="26" font-size="15" font-weight="bold" fill="{INK}" class="chart-caption">{heading}</text>'
        f"{shifted}</svg>"
    )


def _empty(kind: str, caption: str) -> str:
    return _document(kind, 480, 110, caption, NO_DATA, _text(240, 74, NO_DATA, size=14, anchor="middle", fill=MUTED))


def area_bars(bars: Sequence[AreaBar], *, caption: str) -> str:
    """One horizontal bar per area on a common scale: a track for the maximum, a filled bar for the points."""
    return _area_bars(tuple(bars), caption)


# Every tenant home draws this chart (~3 ms under load, most of it wrapping the labels): drawn once per distinct
# bars and caption. The drawing reads nothing else, and equal numbers draw the same (vn_number formats the value).
@lru_cache(maxsize=512)
def _area_bars(bars: tuple[AreaBar, ...], caption: str) -> str:
    if not bars:
        return _empty("bars", caption)
    label_w, track_w, row_h, top = 260.0, 300.0, 46.0, 48.0
    bar_x = 16 + label_w + 12
    width, height = bar_x + track_w + 170, top + row_h * len(bars) + 8
    scale = max([b.max_points for b in bars] + [b.achieved for b in bars if b.achieved is not None])
    unit = track_w / float(scale) if scale > 0 else 0.0
    body, summary = [], []
    for i, bar in enumerate(bars):
        mid, code = top + i * row_h + row_h / 2, _attr(bar.code)
        name = f"{bar.code}. {bar.title}"
        lines = textwrap.wrap(name, int(label_w / (12 * CHAR_EM))) or [""]
        if len(lines) > 2:
            lines = [lines[0], _fit(" ".join(lines[1:]), label_w, 12)]
        first = mid + 4 - 7 * (len(lines) - 1)
        spans = "".join(f'<tspan x="16" y="{_px(first + 14 * n)}">{_esc(line)}</tspan>' for n, line in enumerate(lines))
        track_end = bar_x + max(float(bar.max_points), 0.0) * unit
        parts = [
            f'<text font-size="12" fill="{INK}" class="bar-label">{spans}</text>',
            f'<rect class="bar-track" x="{_px(bar_x)}" y="{_px(mid - 9)}" width="{_px(track_end - bar_x)}" '
            f'height="18" fill="{TRACK}" stroke="{MUTED}" stroke-width="0.75"/>',
        ]
        percent = ""
        if bar.achieved is None:
            value, value_end = "chưa chấm", track_end
        else:
            achieved_w = max(float(bar.achieved), 0.0) * unit
            value, value_end = (
                f"{vn_number(bar.achieved)}/{vn_number(bar.max_points)}",
                max(track_end, bar_x + achieved_w),
            )
            parts.append(
                f'<rect class="bar-achieved" data-code={code} x="{_px(bar_x)}" y="{_px(mid - 9)}" '
                f'width="{_px(achieved_w)}" height="18" fill="{BAR}"/>'
            )
            if bar.max_points > 0:
                percent = f"{vn_number(bar.achieved * 100 / bar.max_points, 1)} %"
                parts.append(_text(width - 16, mid + 4, percent, anchor="end", cls="bar-percent", data_code=bar.code))
        parts.append(_text(value_end + 8, mid + 4, value, cls="bar-value", data_code=bar.code))
        described = f"{name}: {value}" + (f" ({percent})" if percent else "")
        summary.append(described)
        body.append(f'<g class="bar-row" data-code={code}><title>{_esc(described)}</title>{"".join(parts)}</g>')
    return _document("bars", width, height, caption, "; ".join(summary), "".join(body))


def _axis_floor(lowest: Decimal) -> Decimal:
    """A little below the lowest total, rounded down to a multiple of 5, never below zero."""
    return max(Decimal(0), ((lowest - 1) / 5).to_integral_value(rounding=ROUND_FLOOR) * 5)


def years_line(points: Sequence[YearPoint], *, caption: str) -> str:
    """The total per year as a line with labelled markers, and the rank as text under each year."""
    if not points:
        return _empty("years", caption)
    left, top, plot_h, step_x = 60.0, 64.0, 180.0, 110.0
    width, height = max(400.0, left + step_x * len(points) + 24), top + plot_h + 56
    scored = [p.total for p in points if p.total is not None]
    floor = _axis_floor(min(scored)) if scored else Decimal(0)
    ceiling = max([p.max_points for p in points] + scored)
    ceiling = ceiling if ceiling > floor else floor + 5
    span = float(ceiling - floor)

    def y_of(value: Decimal) -> float:
        return top + plot_h * (1 - float(value - floor) / span)

    def x_of(index: int) -> float:
        return left + step_x * (index + 0.5)

    body = []
    tick_step = 5 if span <= 40 else 10 if span <= 100 else 50
    tick = floor
    while tick <= ceiling:
        y = y_of(tick)
        body.append(f'<line x1="{_px(left)}" y1="{_px(y)}" x2="{_px(width - 16)}" y2="{_px(y)}" stroke="{GRID}"/>')
        body.append(_text(left - 8, y + 4, vn_number(tick), size=11, anchor="end", fill=MUTED, cls="axis-tick"))
        tick += tick_step
    segments: list[list[str]] = [[]]
    for i, point in enumerate(points):
        if point.total is None:
            segments.append([])
        else:
            segments[-1].append(f"{_px(x_of(i))},{_px(y_of(point.total))}")
    for segment in filter(None, segments):
        body.append(
            f'<polyline class="years-line" points="{" ".join(segment)}" fill="none" stroke="{BAR}" stroke-width="2.5"/>'
        )
    summary = []
    for i, point in enumerate(points):
        x, year = x_of(i), str(point.year)
        rank = "" if point.rank is None else f"hạng {point.rank}" + ("" if point.of is None else f"/{point.of}")
        body.append(_text(x, top + plot_h + 20, year, anchor="middle", font_weight="bold", cls="point-year"))
        if rank:
            body.append(_text(x, top + plot_h + 38, rank, size=11, anchor="middle", cls="point-rank", data_year=year))
        if point.total is None:
            value = "chưa có điểm"
            body.append(_text(x, top + plot_h - 8, value, size=11, anchor="middle", fill=MUTED, data_year=year))
        else:
            y, value = y_of(point.total), vn_number(point.total)
            body.append(
                f'<circle class="point" data-year="{year}" cx="{_px(x)}" cy="{_px(y)}" r="5" '
                f'fill="#ffffff" stroke="{BAR}" stroke-width="2.5"/>'
            )
            body.append(_text(x, y - 11, value, anchor="middle", font_weight="bold", cls="point-value", data_year=year))
        summary.append(f"{year}: {value}" + (f", {rank}" if rank else ""))
    return _document("years", width, height, caption, "; ".join(summary), "".join(body))


def _heat_step(cell: HeatCell) -> int:
    """0 when nothing is lost, else 1–5 by fifths of the maximum (everything, when the maximum is zero)."""
    if cell.lost <= 0:
        return 0
    share = min(cell.lost / cell.max_points, Decimal(1)) if cell.max_points > 0 else Decimal(1)
    return max(1, int((share * 5).to_integral_value(rounding=ROUND_CEILING)))


def heatmap(rows: Sequence[str], columns: Sequence[str], cells: Sequence[HeatCell], *, caption: str) -> str:
    """Rows × columns of points lost, shaded by the share of the maximum lost, each lost amount written in."""
    if not rows or not columns:
        return _empty("heatmap", caption)
    by_key = {(cell.row, cell.column): cell for cell in cells}
    cell_w = max(30.0, max((len(vn_number(c.lost)) for c in cells), default=1) * 10 * CHAR_EM + 8)
    cell_h, item_w = 22.0, 118.0
    label_w = min(240.0, max(len(r) for r in rows) * 11 * CHAR_EM + 4)
    column_labels = [_fit(c, 120, 11) for c in columns]
    column_len = max(len(c) for c in column_labels) * 11 * CHAR_EM
    rotate = column_len > cell_w - 4
    x0, y0 = 16 + label_w + 8, 44 + (column_len * math.sin(math.pi / 3) + 12 if rotate else 20)
    grid_right = x0 + cell_w * len(columns) + (column_len / 2 if rotate else 0)
    width = max(grid_right + 16, 440.0)
    per_line = max(1, int((width - 32) // item_w))
    legend_y = y0 + cell_h * len(rows) + 28
    height = legend_y + 20 + 24 * math.ceil((len(HEAT_STEPS) + 2) / per_line) + 8
    body = []
    for c_i, label in enumerate(column_labels):
        x = x0 + cell_w * (c_i + 0.5)
        if rotate:
            body.append(
                f'<text class="heat-column-label" transform="translate({_px(x)},{_px(y0 - 6)}) rotate(-60)" '
                f'font-size="11" fill="{INK}">{_esc(label)}</text>'
            )
        else:
            body.append(_text(x, y0 - 8, label, size=11, anchor="middle", cls="heat-column-label"))
    summary = []
    for r_i, row in enumerate(rows):
        y = y0 + cell_h * r_i
        label = _fit(row, label_w, 11)
        body.append(
            f'<text class="heat-row-label" x="{_px(x0 - 8)}" y="{_px(y + 15)}" font-size="11" text-anchor="end" '
            f'fill="{INK}"><title>{_esc(row)}</title>{_esc(label)}</text>'
        )
        row_lost = Decimal(0)
        for c_i, column in enumerate(columns):
            cell, x = by_key.get((row, column)), x0 + cell_w * c_i
            step = -1 if cell is None else _heat_step(cell)
            fill, ink, shown = "#ffffff", INK, ""
            if cell is None:
                title, ink, shown = f"{row} – {column}: {NO_DATA.lower()}", MUTED, "–"
            else:
                title = f"{row} – {column}: mất {vn_number(cell.lost)}/{vn_number(cell.max_points)} điểm"
                row_lost += max(cell.lost, Decimal(0))
            if step > 0 and cell is not None:
                fill, ink, shown = HEAT_STEPS[step - 1], "#ffffff" if step >= 4 else INK, vn_number(cell.lost)
            text = _text(x + cell_w / 2, y + 15, shown, size=10, anchor="middle", fill=ink) if shown else ""
            body.append(
                f'<g class="heat-cell" data-row={_attr(row)} data-column={_attr(column)} data-step="{step}">'
                f"<title>{_esc(title)}</title>"
                f'<rect x="{_px(x)}" y="{_px(y)}" width="{_px(cell_w)}" height="{_px(cell_h)}" fill="{fill}" '
                f'stroke="{GRID}" stroke-width="0.75"/>{text}</g>'
            )
        summary.append(f"{row}: mất {vn_number(row_lost)} điểm")
    legend = [
        _text(16, legend_y, "Tỷ lệ điểm bị mất so với điểm tối đa (số trong ô: điểm bị mất)", size=11, fill=MUTED)
    ]
    items = [(colour, "", label) for colour, label in zip(HEAT_STEPS, HEAT_LABELS, strict=True)]
    items += [("#ffffff", "", "không mất điểm"), ("#ffffff", "–", NO_DATA.lower())]
    for n, (colour, mark, label) in enumerate(items):
        x, y = 16 + item_w * (n % per_line), legend_y + 12 + 24 * (n // per_line)
        mark_text = _text(x + 9, y + 11, mark, size=10, anchor="middle", fill=MUTED) if mark else ""
        legend.append(
            f'<g class="heat-legend-item"><rect x="{_px(x)}" y="{_px(y)}" width="18" height="14" fill="{colour}" '
            f'stroke="{GRID}" stroke-width="0.75"/>{mark_text}{_text(x + 24, y + 11, label, size=11)}</g>'
        )
    body.append(f'<g class="heat-legend">{"".join(legend)}</g>')
    desc = f"{len(rows)} hàng × {len(columns)} cột; mỗi ô ghi số điểm bị mất. " + "; ".join(summary)
    return _document("heatmap", width, height, caption, desc, "".join(body))


def svg_to_png(svg: str, *, scale: float = 2.0) -> bytes:
    """The chart as PNG for reports; needs the Noto Sans or DejaVu Sans font on the host for Vietnamese."""
    # Imported here: cairosvg loads libcairo, which only the export needs. It ships no type information.
    import cairosvg  # type: ignore[import-untyped]

    png: bytes = cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale)
    return png
