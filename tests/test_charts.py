"""Charts a reader takes in at a glance: Bà Rịa – Vũng Tàu's own 2023 areas and 2019–2023 totals as the golden data."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from backend.web.charts import AreaBar, HeatCell, YearPoint, area_bars, heatmap, svg_to_png, years_line

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "x"'

AREAS_2023 = [
    AreaBar("1", "Công tác chỉ đạo điều hành CCHC", D("9.5"), D("12.5")),
    AreaBar("2", "Cải cách thể chế", D("6.5"), D("6.5")),
    AreaBar("3", "Cải cách thủ tục hành chính", D("9.729"), D("11.5")),
    AreaBar("4", "Cải cách tổ chức bộ máy HCNN", D("6.5"), D("6.5")),
    AreaBar("5", "Cải cách chế độ công vụ", D("7"), D("9")),
    AreaBar("6", "Cải cách tài chính công", D("8"), D("8")),
    AreaBar("7", "Chính quyền điện tử, chính quyền số", D("9.376"), D("11")),
    AreaBar("9", "Điều tra xã hội học", D("30.62"), D("35")),
]
YEARS = [
    YearPoint(2019, D("81.659"), D("100"), 9, 21),
    YearPoint(2020, D("85.625"), D("100"), 10, 21),
    YearPoint(2021, D("84.955"), D("100"), 12, 21),
    YearPoint(2022, D("85.675"), D("100"), 12, 21),
    YearPoint(2023, D("87.225"), D("100"), 10, 21),
]


def parse(svg: str) -> ET.Element:
    """Well-formed or it raises; the input is our own output, not a foreign document."""
    return ET.fromstring(svg)  # noqa: S314


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def child(element: ET.Element, tag: str) -> ET.Element:
    found = element.find(f"{SVG}{tag}")
    assert found is not None, tag
    return found


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


def texts(root: ET.Element) -> list[str]:
    return [text_of(e) for e in root.iter(f"{SVG}text")]


def assert_standalone_accessible_svg(svg: str) -> ET.Element:
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    width, height = root.get("width"), root.get("height")
    assert width
    assert height
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    assert child(root, "title").get("id") == title_id
    assert child(root, "desc").get("id") == desc_id
    assert "Noto Sans" in (root.get("font-family") or "")
    for element in root.iter():
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject", f"{SVG}image")
        assert not [name for name in element.attrib if name == "style" or name.startswith("on") or "href" in name]
    return root


def heat_sample() -> str:
    rows, columns = ["Sở Nội vụ", "Sở Y tế"], ["1.1", "1.2", "2.1"]
    cells = [
        HeatCell("Sở Nội vụ", "1.1", D("0.5"), D("1")),
        HeatCell("Sở Nội vụ", "1.2", D("0"), D("1.5")),
        HeatCell("Sở Nội vụ", "2.1", D("2"), D("2")),
        HeatCell("Sở Y tế", "1.1", D("0.1"), D("1")),
        HeatCell("Sở Y tế", "1.2", D("1.125"), D("1.5")),
    ]
    return heatmap(rows, columns, cells, caption="Điểm bị mất theo tiêu chí")


@pytest.mark.parametrize(
    "svg",
    [
        area_bars(AREAS_2023, caption="Bà Rịa – Vũng Tàu 2023"),
        years_line(YEARS, caption="Chỉ số CCHC 2019–2023"),
        heat_sample(),
        area_bars([], caption="Trống"),
    ],
    ids=["bars", "years", "heatmap", "empty"],
)
def test_every_chart_is_a_standalone_accessible_svg_without_script_or_style(svg: str) -> None:
    assert_standalone_accessible_svg(svg)


def test_area_bars_write_the_2023_points_with_decimal_comma() -> None:
    root = assert_standalone_accessible_svg(area_bars(AREAS_2023, caption="Bà Rịa – Vũng Tàu 2023"))
    values = {e.get("data-code"): text_of(e) for e in by_class(root, "bar-value")}
    assert values == {
        "1": "9,5/12,5",
        "2": "6,5/6,5",
        "3": "9,729/11,5",
        "4": "6,5/6,5",
        "5": "7/9",
        "6": "8/8",
        "7": "9,376/11",
        "9": "30,62/35",
    }
    percents = {e.get("data-code"): text_of(e) for e in by_class(root, "bar-percent")}
    assert percents["1"] == "76 %"
    assert percents["2"] == "100 %"
    assert percents["3"] == "84,6 %"
    assert "Điều tra xã hội học" in "".join(texts(root))


def test_a_drawn_area_chart_is_reused_only_for_the_same_bars() -> None:
    """Drawn once per bars and caption (every tenant home draws one): a changed score or caption draws anew."""
    first = area_bars(AREAS_2023, caption="2023")
    assert area_bars(list(AREAS_2023), caption="2023") == first
    changed = [AreaBar("1", "Công tác chỉ đạo điều hành CCHC", D("10"), D("12.5")), *AREAS_2023[1:]]
    redrawn = area_bars(changed, caption="2023")
    assert "10/12,5" in redrawn
    assert "9,5/12,5" not in redrawn
    assert "2024" in area_bars(AREAS_2023, caption="2024")


def test_area_bar_lengths_are_proportional_on_one_common_scale() -> None:
    root = parse(area_bars(AREAS_2023, caption="2023"))
    rows = {row.get("data-code"): row for row in by_class(root, "bar-row")}
    tracks = {code: float(by_class(row, "bar-track")[0].get("width") or 0) for code, row in rows.items()}
    for bar in AREAS_2023:
        achieved = by_class(rows[bar.code], "bar-achieved")
        assert [e.get("data-code") for e in achieved] == [bar.code]
        assert bar.achieved is not None
        width = float(achieved[0].get("width") or 0)
        assert width / tracks[bar.code] == pytest.approx(float(bar.achieved / bar.max_points), abs=0.01)
    assert tracks["9"] / tracks["1"] == pytest.approx(35 / 12.5, abs=0.01)


def test_an_unscored_area_draws_no_bar_and_says_not_scored_yet() -> None:
    bars = [AreaBar("1", "Công tác chỉ đạo điều hành CCHC", None, D("12.5")), AREAS_2023[1]]
    root = parse(area_bars(bars, caption="2024"))
    assert [e.get("data-code") for e in by_class(root, "bar-achieved")] == ["2"]
    assert {e.get("data-code"): text_of(e) for e in by_class(root, "bar-value")}["1"] == "chưa chấm"


def test_a_long_area_title_is_cut_in_the_label_but_whole_in_its_title() -> None:
    title = "Một lĩnh vực có tên rất dài " * 6
    root = parse(area_bars([AreaBar("8", title, D("1"), D("2"))], caption="Dài"))
    label = text_of(by_class(root, "bar-label")[0])
    assert label.endswith("…")
    assert len(label) < len(title)
    assert title.strip() in text_of(child(by_class(root, "bar-row")[0], "title"))


def test_zero_maximum_does_not_divide_by_zero() -> None:
    root = parse(area_bars([AreaBar("1", "Không điểm", D("0"), D("0"))], caption="0"))
    assert text_of(by_class(root, "bar-value")[0]) == "0/0"
    assert by_class(root, "bar-percent") == []
    parse(years_line([YearPoint(2023, D("0"), D("0"))], caption="0"))
    cells = [HeatCell("Sở A", "1.1", D("0"), D("0")), HeatCell("Sở A", "1.2", D("1"), D("0"))]
    steps = [
        e.get("data-step") for e in by_class(parse(heatmap(["Sở A"], ["1.1", "1.2"], cells, caption="0")), "heat-cell")
    ]
    assert steps == ["0", "5"]


def test_years_line_labels_each_total_and_rank_of_2019_to_2023() -> None:
    root = assert_standalone_accessible_svg(years_line(YEARS, caption="Chỉ số CCHC 2019–2023"))
    values = [text_of(e) for e in by_class(root, "point-value")]
    assert values == ["81,659", "85,625", "84,955", "85,675", "87,225"]
    assert [text_of(e) for e in by_class(root, "point-rank")] == [f"hạng {r}/21" for r in (9, 10, 12, 12, 10)]
    assert [text_of(e) for e in by_class(root, "point-year")] == ["2019", "2020", "2021", "2022", "2023"]
    heights = {e.get("data-year"): float(e.get("cy") or 0) for e in by_class(root, "point")}
    assert heights["2023"] < heights["2022"] < heights["2021"] < heights["2019"]  # higher total, higher on the page
    assert [text_of(e) for e in by_class(root, "axis-tick")] == ["80", "85", "90", "95", "100"]


def test_years_line_with_one_point_a_gap_or_none() -> None:
    one = parse(years_line([YearPoint(2023, D("87.225"), D("100"), 10)], caption="2023"))
    assert [text_of(e) for e in by_class(one, "point-value")] == ["87,225"]
    assert [text_of(e) for e in by_class(one, "point-rank")] == ["hạng 10"]
    gap = parse(years_line([*YEARS[:2], YearPoint(2021, None, D("100")), *YEARS[3:]], caption="Thiếu 2021"))
    assert len(by_class(gap, "years-line")) == 2
    assert "chưa có điểm" in texts(gap)
    empty = assert_standalone_accessible_svg(years_line([], caption="Chỉ số CCHC"))
    assert texts(empty) == ["Chỉ số CCHC", "Chưa có dữ liệu"]


def test_heatmap_shades_by_share_lost_and_writes_the_points_lost() -> None:
    root = assert_standalone_accessible_svg(heat_sample())
    cells = {(e.get("data-row"), e.get("data-column")): e for e in by_class(root, "heat-cell")}
    assert len(cells) == 2 * 3
    shown = {key: "".join(t for t in texts(cell) if t) for key, cell in cells.items()}
    steps = {key: cell.get("data-step") for key, cell in cells.items()}
    assert (shown[("Sở Nội vụ", "1.1")], steps[("Sở Nội vụ", "1.1")]) == ("0,5", "3")
    assert (shown[("Sở Nội vụ", "1.2")], steps[("Sở Nội vụ", "1.2")]) == ("", "0")  # nothing lost: blank
    assert (shown[("Sở Nội vụ", "2.1")], steps[("Sở Nội vụ", "2.1")]) == ("2", "5")
    assert (shown[("Sở Y tế", "1.1")], steps[("Sở Y tế", "1.1")]) == ("0,1", "1")
    assert (shown[("Sở Y tế", "1.2")], steps[("Sở Y tế", "1.2")]) == ("1,125", "4")
    assert (shown[("Sở Y tế", "2.1")], steps[("Sở Y tế", "2.1")]) == ("–", "-1")  # missing
    legend = by_class(root, "heat-legend-item")
    assert [text_of(item) for item in legend] == [
        "đến 20 %",
        "20–40 %",
        "40–60 %",
        "60–80 %",
        "80–100 %",
        "không mất điểm",
        "–chưa có dữ liệu",
    ]
    fills = [child(item, "rect").get("fill") for item in legend[:5]]
    assert len(set(fills)) == 5


def test_heatmap_of_25_departments_by_40_criteria_grows_and_turns_column_labels() -> None:
    rows = [f"Sở số {i}" for i in range(25)]
    columns = [f"{area}.{criterion}.1" for area in range(1, 9) for criterion in range(1, 6)]
    cells = [HeatCell(r, c, D("0.25"), D("1")) for r in rows for c in columns]
    root = parse(heatmap(rows, columns, cells, caption="Toàn tỉnh"))
    assert len(by_class(root, "heat-cell")) == 25 * 40
    cell_width = float(child(by_class(root, "heat-cell")[0], "rect").get("width") or 0)
    assert cell_width >= 28
    assert float(root.get("width") or 0) > 40 * cell_width
    assert all("rotate(-60)" in (e.get("transform") or "") for e in by_class(root, "heat-column-label"))


def test_empty_heatmap_says_no_data() -> None:
    for svg in (heatmap([], ["1.1"], [], caption="Trống"), heatmap(["Sở A"], [], [], caption="Trống")):
        assert texts(assert_standalone_accessible_svg(svg)) == ["Trống", "Chưa có dữ liệu"]


def test_hostile_titles_names_and_codes_are_escaped() -> None:
    charts = [
        area_bars([AreaBar(HOSTILE, HOSTILE, D("1"), D("2"))], caption=HOSTILE),
        years_line([YearPoint(2023, D("1"), D("2"))], caption=HOSTILE),
        heatmap([HOSTILE], [HOSTILE], [HeatCell(HOSTILE, HOSTILE, D("1"), D("2"))], caption=HOSTILE),
    ]
    for svg in charts:
        assert "<script" not in svg
        root = assert_standalone_accessible_svg(svg)
        assert text_of(child(root, "title")) == HOSTILE
    heat = parse(charts[2])
    cell = by_class(heat, "heat-cell")[0]
    assert (cell.get("data-row"), cell.get("data-column")) == (HOSTILE, HOSTILE)
    assert by_class(parse(charts[0]), "bar-achieved")[0].get("data-code") == HOSTILE


def test_control_characters_from_a_spreadsheet_do_not_break_the_document() -> None:
    svg = area_bars([AreaBar("1", "Cải cách\x00 thể chế\x0b", D("1"), D("2"))], caption="Tab\tvà\x1f")
    assert "Cải cách thể chế" in text_of(child(parse(svg), "desc"))


def test_charts_with_the_same_caption_get_different_ids() -> None:
    first = parse(area_bars(AREAS_2023[:1], caption="2023")).get("aria-labelledby")
    second = parse(area_bars(AREAS_2023[1:2], caption="2023")).get("aria-labelledby")
    assert first != second


def test_svg_to_png_renders_vietnamese_text_at_the_given_scale() -> None:
    svg = area_bars(AREAS_2023, caption="Sở Tài nguyên và Môi trường – Bà Rịa – Vũng Tàu: Điều tra xã hội học")
    png = svg_to_png(svg, scale=1.5)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    root = parse(svg)
    assert width == round(float(root.get("width") or 0) * 1.5)
    assert height == round(float(root.get("height") or 0) * 1.5)
    assert svg_to_png(years_line([], caption="Chưa có dữ liệu")).startswith(b"\x89PNG")


def test_a_long_caption_wraps_and_is_never_cut_off() -> None:
    """Issue 17 item 13: the province heatmap's caption ended in "…" on a few columns."""
    caption = "Điểm bị trừ theo tiêu chí và đơn vị, năm 2022 (tự đánh giá) của các sở, ban, ngành"
    root = parse(heatmap(["Sở A"], ["1.1", "1.2"], [HeatCell("Sở A", "1.1", D("1"), D("2"))], caption=caption))
    heading = by_class(root, "chart-caption")[0]
    lines = [text_of(t) for t in heading]
    assert len(lines) > 1
    assert " ".join(lines) == caption
    assert "…" not in text_of(heading)
    width = float(root.get("width") or 0)
    assert all(16 + len(line) * 15 * 0.58 <= width - 16 for line in lines)
    # the chart moved down under the extra lines, and grew by as much
    moved = child(root, "g")
    assert moved.get("transform") == f"translate(0,{20 * (len(lines) - 1)})"
    assert by_class(moved, "heat-cell")
