"""The one look of every page: colours, type and layout, as a stylesheet that travels with the widgets.

The stylesheet is part of the page's widgets (not a template file) so that a notebook opened in Jupyter looks the
same as in Voila. Nothing in it loads anything from the network: icons are Unicode characters, fonts are the
system's.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw

TIER_COLOURS = {
    "healthy": "#1a7f37",
    "at_risk": "#9a6700",
    "critical": "#cf222e",
    "insufficient_data": "#57606a",
}
TIER_BACKGROUNDS = {
    "healthy": "#dafbe1",
    "at_risk": "#fff8c5",
    "critical": "#ffebe9",
    "insufficient_data": "#eaeef2",
}

_TIER_RULES = "\n".join(
    f".hd-tier-{tier} {{ color: {colour}; }}\n"
    f".hd-badge.hd-tier-{tier} {{ background: {TIER_BACKGROUNDS[tier]}; border-color: {colour}; }}\n"
    f".hd-fill-{tier} {{ background: {colour}; }}"
    for tier, colour in TIER_COLOURS.items()
)

STYLESHEET = (
    """
:root { --hd-ink: #1f2328; --hd-muted: #59636e; --hd-line: #d1d9e0; --hd-panel: #ffffff;
        --hd-accent: #0969da; --hd-font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
        "Noto Sans", "Liberation Sans", sans-serif; }
#rendered_cells .jp-Cell { padding: 0; }
#rendered_cells .jp-OutputPrompt, #rendered_cells .jp-InputPrompt { display: none; }
#rendered_cells .jp-OutputArea-output { padding: 0; }
.hd-page { max-width: 1200px; margin: 0 auto 32px auto; padding: 0 12px; box-sizing: border-box; width: 100%;
           font-family: var(--hd-font); color: var(--hd-ink); font-size: 14px; gap: 16px; }
.hd-page .widget-html-content, .hd-html .widget-html-content { line-height: 1.45; font-family: var(--hd-font);
           color: var(--hd-ink); font-size: 14px; white-space: normal; }
.hd-page .widget-html, .hd-html { margin: 0; width: 100%; max-width: 100%; min-width: 0; }
.hd-page .widget-html-content { min-width: 0; }
.hd-page a { color: var(--hd-accent); text-decoration: none; }
.hd-page a:hover, .hd-page a:focus { text-decoration: underline; }
.hd-nav { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 20px; background: #1f2937;
          padding: 10px 16px; border-radius: 0 0 8px 8px; }
.hd-nav .hd-brand { color: #ffffff; font-weight: 700; font-size: 16px; margin-right: 12px; }
.hd-nav a { color: #d1d5db; padding: 4px 2px; border-bottom: 2px solid transparent; }
.hd-nav a:hover, .hd-nav a:focus { color: #ffffff; text-decoration: none; }
.hd-nav a.hd-current { color: #ffffff; border-bottom-color: #60a5fa; }
.hd-heading { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px; }
.hd-heading h1 { font-size: 22px; margin: 0; font-weight: 650; }
.hd-toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; width: 100%; }
.hd-toolbar .widget-html, .hd-toolbar .hd-toolbar { width: auto; }
.hd-muted { color: var(--hd-muted); }
.hd-fact { white-space: nowrap; }
.hd-small { font-size: 12px; }
.hd-notice { border: 1px solid #d4a72c; background: #fff8c5; padding: 10px 14px; border-radius: 8px; }
.hd-notice.hd-error { border-color: #cf222e; background: #ffebe9; }
.hd-notice.hd-ok { border-color: #1a7f37; background: #dafbe1; }
.hd-card { background: var(--hd-panel); border: 1px solid var(--hd-line); border-radius: 8px; padding: 14px 16px;
           box-sizing: border-box; min-width: 0; }
.hd-card h2 { font-size: 15px; margin: 0 0 10px 0; font-weight: 650; }
.hd-grid { display: grid !important; grid-template-columns: repeat(auto-fit, minmax(min(340px, 100%), 1fr)); gap: 16px;
           width: 100%; }
.hd-grid > * { min-width: 0; }
.hd-grid.hd-grid-aside { grid-template-columns: minmax(300px, 2fr) minmax(340px, 3fr); align-items: start; }
.hd-grid.hd-grid-even { grid-template-columns: repeat(auto-fit, minmax(min(460px, 100%), 1fr)); align-items: start; }
.hd-page .widget-tab .hd-card { border: none; padding: 4px 0; }
.hd-bars-open .hd-bar-track { background: none; }
.hd-tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.hd-tile { display: block; background: var(--hd-panel); border: 1px solid var(--hd-line); border-radius: 8px;
           padding: 12px 14px; border-top-width: 4px; color: inherit; }
.hd-tile .hd-value { font-size: 28px; font-weight: 700; line-height: 1.2; }
.hd-tile .hd-label { color: var(--hd-muted); font-size: 13px; }
a.hd-tile:hover { text-decoration: none; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
.hd-badge { display: inline-block; border: 1px solid; border-radius: 999px; padding: 0 8px; font-size: 12px;
            font-weight: 600; line-height: 18px; white-space: nowrap; }
.hd-score { font-weight: 700; font-variant-numeric: tabular-nums; }
.hd-trend { font-variant-numeric: tabular-nums; white-space: nowrap; }
.hd-up { color: #1a7f37; } .hd-down { color: #cf222e; } .hd-flat { color: var(--hd-muted); }
.hd-table-wrap { overflow-x: auto; width: 100%; }
table.hd-table { border-collapse: collapse; width: 100%; font-size: 14px; }
table.hd-table th { text-align: left; font-weight: 600; color: var(--hd-muted); font-size: 12px;
                    text-transform: uppercase; letter-spacing: .03em; border-bottom: 1px solid var(--hd-line);
                    padding: 6px 8px; white-space: nowrap; }
table.hd-table td { border-bottom: 1px solid #eef1f4; padding: 0; vertical-align: middle; }
table.hd-table td > span, table.hd-table td > a { display: block; padding: 7px 8px; color: inherit; }
table.hd-table td.hd-num, table.hd-table th.hd-num { text-align: right; }
table.hd-table tr.hd-row:hover td { background: #f3f6fa; }
table.hd-table tr.hd-row a { color: inherit; }
table.hd-table tr.hd-row a.hd-name { color: var(--hd-accent); font-weight: 600; }
.hd-bars { display: grid; grid-template-columns: minmax(90px, max-content) 1fr minmax(40px, max-content);
           gap: 6px 10px; align-items: center; }
.hd-bar-track { background: #eef1f4; border-radius: 4px; height: 14px; overflow: hidden; display: flex; }
.hd-bar { height: 100%; }
.hd-fill-accent { background: #0969da; }
.hd-bar-lost { background: repeating-linear-gradient(45deg, #ffd8d3, #ffd8d3 4px, #ffebe9 4px, #ffebe9 8px); }
.hd-columns { display: flex; align-items: flex-end; gap: 4px; height: 150px; padding-top: 4px; }
.hd-column { flex: 1 1 0; display: flex; flex-direction: column; justify-content: flex-end; align-items: center;
             height: 100%; min-width: 0; }
.hd-column .hd-column-bar { width: 100%; border-radius: 3px 3px 0 0; min-height: 1px; }
.hd-column .hd-column-count { font-size: 12px; color: var(--hd-muted); }
.hd-axis { display: flex; gap: 4px; border-top: 1px solid var(--hd-line); padding-top: 2px; }
.hd-axis span { flex: 1 1 0; text-align: center; font-size: 11px; color: var(--hd-muted); min-width: 0; }
.hd-stack { display: flex; height: 22px; border-radius: 4px; overflow: hidden; margin: 4px 0 10px 0; }
.hd-legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; }
.hd-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
.hd-timeline svg { display: block; width: 100%; height: 56px; }
.hd-rate-chart { display: block; width: 100%; max-height: 260px; }
.hd-curve { max-width: 300px; margin: 0 auto; }
.hd-curve-chart { display: block; width: 100%; height: auto; }
.hd-curve-chart .hd-mark, .hd-rate-chart .hd-rate { cursor: help; }
.hd-series { margin-bottom: 10px; }
.hd-series-head { display: flex; justify-content: space-between; font-size: 13px; }
.hd-header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 12px; }
.hd-header h2.hd-customer-name { font-size: 24px; margin: 0 0 4px 0; overflow-wrap: anywhere; }
.hd-header .hd-big { font-size: 40px; font-weight: 750; line-height: 1; text-align: right; }
.hd-factors { margin-top: 12px; }
.hd-factor { border-top: 1px solid #eef1f4; padding: 8px 0; }
.hd-factor-flow { margin: 2px 0; overflow-wrap: anywhere; }
.hd-factor-explain { font-size: 13px; color: var(--hd-muted); }
.hd-form { gap: 8px; }
.hd-form .widget-label { min-width: 9em; }
.hd-page .widget-tab { width: 100%; }
.hd-page .lm-TabBar-tab, .hd-page .p-TabBar-tab { min-width: 0; flex: 0 1 auto; padding: 0 14px; }
.hd-page .widget-button, .hd-page .jupyter-button { border-radius: 6px; }
.hd-link-button { display: inline-block; padding: 5px 12px; border: 1px solid var(--hd-line); border-radius: 6px;
                  background: var(--hd-panel); }
@media (max-width: 640px) {
  .hd-page { padding: 0 6px; font-size: 13px; }
  .hd-tile .hd-value { font-size: 22px; }
  .hd-header .hd-big { font-size: 30px; text-align: left; }
  .hd-grid, .hd-grid.hd-grid-aside, .hd-grid.hd-grid-even { grid-template-columns: minmax(0, 1fr); }
  table.hd-table .hd-wide { display: none; }
  .hd-filters > .widget-text { width: 100% !important; }
  .hd-filters > .widget-dropdown { flex: 1 1 40%; width: auto !important; min-width: 0; }
}
"""
    + _TIER_RULES
)


class PageStyle(ipw.HTML):  # type: ignore[misc]
    """The stylesheet, as an invisible widget included once per page."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(value=f"<style>{STYLESHEET}</style>", **kwargs)
        self.layout.display = "none"
