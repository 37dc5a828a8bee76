"""The shared SVG charts: valid, accessible, injection-proof, script-free."""

from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

from core.charts import Band, Marker, Point, Series, bar_chart, line_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - our own output, parsed to check it


def phq9_series(*totals):
    start = date(2026, 1, 5)
    return Series("PHQ-9", [Point(start + timedelta(days=7 * i), total) for i, total in enumerate(totals)])


def test_line_chart_is_an_accessible_image_with_one_dot_per_value():
    root = parse(line_chart(series=[phq9_series(21, 15, None, 8)], title="PHQ-9 over time", y_min=0, y_max=27))

    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "PHQ-9 over time"
    assert root.find(f"{SVG}desc").text == "3 values in 1 series."
    hovers = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
    assert hovers == ["PHQ-9, 05 Jan 2026: 21", "PHQ-9, 12 Jan 2026: 15", "PHQ-9, 26 Jan 2026: 8"]


def test_a_missing_value_breaks_the_line_instead_of_bridging_it():
    root = parse(line_chart(series=[phq9_series(21, 15, None, 8, 6)], title="t"))

    lines = list(root.iter(f"{SVG}polyline"))
    assert [len(line.get("points").split()) for line in lines] == [2, 2]


def test_patient_entered_text_cannot_inject_markup_or_script():
    hostile = '<script>alert(1)</script><img src="http://127.0.0.1:9/x">'
    svg = line_chart(
        series=[Series(hostile, [Point(datetime(2026, 3, 1, 9, tzinfo=UTC), 5, label=hostile)])],
        title=hostile,
        bands=[Band(0, 4, hostile)],
        markers=[Marker(datetime(2026, 3, 1, 9, tzinfo=UTC), hostile)],
    )

    root = parse(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert not list(root.iter(f"{SVG}img"))
    assert root.find(f"{SVG}title").text == hostile
    assert "style=" not in svg  # the CSP allows no inline styles


def test_bands_and_markers_are_labelled_for_hover():
    root = parse(
        line_chart(
            series=[phq9_series(20, 12)],
            title="t",
            bands=[Band(0, 4, "Minimal")],
            markers=[Marker(date(2026, 1, 6), "Infusion 1: 35 mg")],
        )
    )

    assert root.find(f"{SVG}rect[@class='chart-band']/{SVG}title").text == "Minimal"
    assert root.find(f"{SVG}line[@class='chart-marker']/{SVG}title").text == "Infusion 1: 35 mg"


def test_empty_chart_says_so_rather_than_failing():
    root = parse(line_chart(series=[Series("PHQ-9", [])], title="t"))

    assert root.find(f"{SVG}desc").text == "No values recorded yet."


def test_bar_chart_draws_each_value_with_its_category_and_series():
    root = parse(bar_chart(categories=["Mon", "Tue"], series=[("No-shows", [3, 0]), ("Kept", [10, 12])], title="t"))

    hovers = [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert hovers == ["No-shows, Mon: 3", "Kept, Mon: 10", "No-shows, Tue: 0", "Kept, Tue: 12"]


def test_sparkline_describes_its_values_for_screen_readers():
    root = parse(sparkline([4, None, 6, 9], title="No-shows per week"))

    assert root.find(f"{SVG}desc").text == "4, 6, 9"
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 3


def test_the_axis_reaches_above_the_tallest_bar():
    root = parse(bar_chart(categories=["w1"], series=[("Booked", [42])], title="t"))

    tick_labels = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert tick_labels == ["0", "20", "40", "60"]
