"""Charts are markup built from numbers; labels are escaped and sizes stay within their boxes."""

from __future__ import annotations

from healthdash.widgets.charts import (
    BarRow,
    Column,
    Segment,
    bar_rows,
    column_chart,
    curve_svg,
    rate_columns_svg,
    share_bar,
    timeline_svg,
)
from tests.widgets.samples import HOSTILE


def test_bar_rows_size_segments_by_share_and_clamp_them() -> None:
    html = bar_rows(
        [BarRow(HOSTILE, [Segment(0.25, "hd-fill-accent", "a"), Segment(1.5, "hd-bar-lost", "b")], "75")],
        "caption <x>",
    )
    assert "width:25.00%" in html
    assert "width:100.00%" in html
    assert "&lt;img src=x" in html
    assert 'aria-label="caption &lt;x&gt;"' in html
    assert 'class="hd-bars"' in html
    assert 'class="hd-bars hd-bars-open"' in bar_rows([], "empty", open_track=True)


def test_column_chart_scales_to_the_largest_count() -> None:
    html = column_chart([Column("0", 0, "hd-fill-critical"), Column("10", 4, "hd-fill-healthy", "t<")], "dist")
    assert "height:0.00%" in html
    assert "height:85.00%" in html
    assert 'title="t&lt;"' in html
    assert 'title="0: 0"' in html
    assert column_chart([], "nothing").count('hd-column"') == 0


def test_share_bar_shows_each_part_and_its_share() -> None:
    html = share_bar([("Healthy", 3, "hd-fill-healthy"), ("Critical", 1, "hd-fill-critical"), ("None", 0, "x")], "t")
    assert "width:75.00%" in html
    assert "width:25.00%" in html
    assert "Healthy <strong>3</strong> (75%)" in html
    assert "None <strong>0</strong> (0%)" in html
    assert html.count('style="width') == 2  # no segment for an empty part


def test_share_bar_of_nothing_has_no_segments() -> None:
    html = share_bar([("Healthy", 0, "hd-fill-healthy")], "t")
    assert "style=" not in html
    assert "Healthy <strong>0</strong></span>" in html


def test_timeline_draws_a_column_per_active_day_with_its_date() -> None:
    svg = timeline_svg([("2026-11-01", 0.0), ("2026-11-02", 5.0), ("2026-11-03", 10.0)], "#0969da", "logins")
    assert svg.startswith("<svg")
    assert svg.count("<rect") == 2
    assert "<title>2026-11-03: 10</title>" in svg
    assert 'y="0.00" width="8" height="100.00"' in svg
    assert 'viewBox="0 0 30 100"' in svg
    assert timeline_svg([], "#000", "nothing").count("<rect") == 0


def test_rate_columns_scale_to_the_highest_rate_and_escape_their_text() -> None:
    html = rate_columns_svg([("0\u201310", 0.5, HOSTILE), ("10\u201320", None, "none"), (HOSTILE, 0.25, "q")], "c<")
    assert html.count("<rect") == 2  # no column where nothing was counted
    assert 'height="80.00"' in html and 'height="40.00"' in html
    assert ">50%</text>" in html and ">\u2013</text>" in html and ">25%</text>" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert 'aria-label="c&lt;"' in html
    assert 'viewBox="0 0 60 106"' in html  # three columns of 20
    assert rate_columns_svg([("a", 0.0, "t")], "zero").count('height="0.00"') == 1


def test_a_curve_keeps_its_ends_and_draws_at_most_so_many_points() -> None:
    points = [(i / 999, (i / 999) ** 0.5) for i in range(1000)]
    html = curve_svg(points, [(0.25, 0.5, HOSTILE)], "ROC")
    drawn = html.split('<polyline points="')[1].split('"')[0].split()
    assert len(drawn) <= 401
    assert drawn[0] == "0.00,100.00" and drawn[-1] == "100.00,0.00"
    assert '<circle class="hd-mark" cx="25.00" cy="50.00"' in html
    assert "&lt;img src=x" in html and "<img" not in html
