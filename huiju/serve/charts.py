"""Inline SVG charts, drawn on the server so the pages need no script, font or file from outside.

Every chart returns ``markupsafe.Markup``; every text that goes into it is escaped here. Colours
come from CSS classes in ``static/dashboard.css``, so the charts follow the page's style.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT_SIZE = 13
ROW_HEIGHT = 24
BAR_HEIGHT = 16
SUB_BAR_HEIGHT = 5
PLOT_WIDTH = 720
VALUE_LABEL_WIDTH = 70
AXIS_HEIGHT = 22
LEGEND_HEIGHT = 26


@dataclass(frozen=True)
class Segment:
    """One kind of value in a bar: its key in the row values, legend label and CSS class."""

    key: str
    label: str
    css_class: str


@dataclass(frozen=True)
class BarRow:
    label: str
    values: dict[str, float]
    href: str | None = None


def text_width(text: str, font_size: int = FONT_SIZE) -> float:
    """Estimate the rendered width of ``text``: a full em for wide (CJK) characters, 0.6 em otherwise."""
    return sum(font_size if unicodedata.east_asian_width(character) in "WF" else font_size * 0.6 for character in text)


def nice_step(maximum: float, ticks: int = 5) -> float:
    """Return a round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks up to ``maximum``."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _number(value: float, unit: str = "") -> str:
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text}{unit}"


def stacked_bars(
    rows: Sequence[BarRow],
    segments: Sequence[Segment],
    *,
    title: str,
    sub_segment: Segment | None = None,
    unit: str = "",
) -> Markup:
    """Draw one horizontal bar per row, stacked from ``segments``, with the total at its end.

    ``sub_segment`` is drawn as a thin bar under the main one, on the same scale, for a count that
    is part of the stacked ones (such as published records that carry a warning).
    """
    label_width = max((text_width(row.label) for row in rows), default=0) + 12
    maximum = max((sum(row.values.get(segment.key, 0) for segment in segments) for row in rows), default=0)
    step = nice_step(maximum)
    scale_max = step * math.ceil(maximum / step) if maximum > 0 else 1
    width = label_width + PLOT_WIDTH + VALUE_LABEL_WIDTH
    top = LEGEND_HEIGHT + AXIS_HEIGHT
    height = top + ROW_HEIGHT * len(rows) + 8

    def x(value: float) -> float:
        return label_width + PLOT_WIDTH * value / scale_max

    parts = [_svg_open(width, height, title)]
    parts.append(_legend([*segments, *([sub_segment] if sub_segment else [])], label_width))
    parts.append(_axis(label_width, top, height - 8, scale_max, step, x, unit))
    for index, row in enumerate(rows):
        y = top + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT - SUB_BAR_HEIGHT) / 2
        parts.append(_row_label(row, label_width - 8, y + BAR_HEIGHT / 2))
        offset = 0.0
        for segment in segments:
            value = row.values.get(segment.key, 0) or 0
            if value > 0:
                parts.append(
                    f'<rect class="bar {segment.css_class}" data-segment="{escape(segment.key)}" data-value="{value:g}"'
                    f' x="{x(offset):.1f}" y="{y:.1f}" width="{x(offset + value) - x(offset):.1f}" height="{BAR_HEIGHT}">'
                    f"<title>{escape(row.label)} {escape(segment.label)} {_number(value, unit)}</title></rect>"
                )
            offset += value
        parts.append(
            f'<text class="chart-value" x="{x(offset) + 4:.1f}" y="{y + BAR_HEIGHT / 2:.1f}" '
            f'dominant-baseline="middle">{_number(offset, unit)}</text>'
        )
        if sub_segment is not None:
            value = row.values.get(sub_segment.key, 0) or 0
            if value > 0:
                parts.append(
                    f'<rect class="bar {sub_segment.css_class}" data-segment="{escape(sub_segment.key)}"'
                    f' data-value="{value:g}" x="{x(0):.1f}" y="{y + BAR_HEIGHT + 1:.1f}"'
                    f' width="{x(value) - x(0):.1f}" height="{SUB_BAR_HEIGHT}">'
                    f"<title>{escape(row.label)} {escape(sub_segment.label)} {_number(value, unit)}</title></rect>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bars(rows: Sequence[BarRow], segments: Sequence[Segment], *, title: str, marked: set[str] = frozenset()) -> Markup:
    """Draw one 100 % bar per row from shares between 0 and 1; rows in ``marked`` get a warning sign."""
    label_width = max((text_width(row.label) for row in rows), default=0) + 28
    plot = 360
    width = label_width + plot + 8
    top = LEGEND_HEIGHT
    height = top + ROW_HEIGHT * len(rows) + 4
    parts = [_svg_open(width, height, title), _legend(segments, label_width)]
    for index, row in enumerate(rows):
        y = top + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        if row.label in marked:
            parts.append(f'<text class="chart-breach" x="4" y="{y + BAR_HEIGHT / 2:.1f}" dominant-baseline="middle">⚠</text>')
        parts.append(_row_label(row, label_width - 8, y + BAR_HEIGHT / 2))
        offset = 0.0
        for segment in segments:
            share = row.values.get(segment.key, 0) or 0
            if share > 0:
                left = label_width + plot * offset
                parts.append(
                    f'<rect class="bar {segment.css_class}" data-segment="{escape(segment.key)}" data-value="{share:.4f}"'
                    f' x="{left:.1f}" y="{y:.1f}" width="{plot * share:.1f}" height="{BAR_HEIGHT}">'
                    f"<title>{escape(row.label)} {escape(segment.label)} {share:.0%}</title></rect>"
                )
                if plot * share >= 34:
                    parts.append(
                        f'<text class="chart-inside" x="{left + plot * share / 2:.1f}" y="{y + BAR_HEIGHT / 2:.1f}" '
                        f'text-anchor="middle" dominant-baseline="middle">{share:.0%}</text>'
                    )
            offset += share
    parts.append("</svg>")
    return Markup("".join(parts))


def heatmap(
    row_labels: Sequence[tuple[str, str]],
    column_labels: Sequence[tuple[str, str]],
    counts: dict[tuple[str, str], int],
    *,
    title: str,
    cell_title: str,
) -> Markup:
    """Draw a grid of counts whose colour deepens with the count; rows and columns are (key, label).

    ``cell_title`` is a format string with ``{row}``, ``{column}`` and ``{count}`` for each cell's tooltip.
    """
    label_width = max((text_width(label) for _, label in row_labels), default=0) + 12
    cell_width = max([64.0, *(text_width(label) + 12 for _, label in column_labels)])
    cell_height = 26
    top = 30
    width = label_width + cell_width * len(column_labels) + 4
    height = top + cell_height * len(row_labels) + 4
    maximum = max(counts.values(), default=0) or 1
    parts = [_svg_open(width, height, title)]
    for column, (_, label) in enumerate(column_labels):
        parts.append(
            f'<text class="chart-label" x="{label_width + cell_width * (column + 0.5):.1f}" y="{top - 10}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for row, (row_key, row_label) in enumerate(row_labels):
        y = top + row * cell_height
        parts.append(
            f'<text class="chart-label" x="{label_width - 8:.1f}" y="{y + cell_height / 2:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(row_label)}</text>'
        )
        for column, (column_key, column_label) in enumerate(column_labels):
            count = counts.get((row_key, column_key), 0)
            # Five shades, so that a small count still differs visibly from none.
            level = 0 if count == 0 else 1 + min(4, math.floor(4 * count / maximum))
            x = label_width + column * cell_width
            tooltip = cell_title.format(row=row_label, column=column_label, count=count)
            parts.append(
                f'<rect class="heat heat-{level}" data-count="{count}" x="{x + 1:.1f}" y="{y + 1}" '
                f'width="{cell_width - 2:.1f}" height="{cell_height - 2}"><title>{escape(tooltip)}</title></rect>'
            )
            if count:
                parts.append(
                    f'<text class="heat-text heat-text-{level}" x="{x + cell_width / 2:.1f}" y="{y + cell_height / 2:.1f}" '
                    f'text-anchor="middle" dominant-baseline="middle">{count}</text>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'
        f"<title>{escape(title)}</title>"
    )


def _legend(segments: Sequence[Segment], left: float) -> str:
    parts = []
    x = left
    for segment in segments:
        parts.append(f'<rect class="bar {segment.css_class}" x="{x:.1f}" y="6" width="12" height="12"></rect>')
        parts.append(f'<text class="chart-legend" x="{x + 16:.1f}" y="12" dominant-baseline="middle">'
                     f"{escape(segment.label)}</text>")
        x += 16 + text_width(segment.label) + 18
    return "".join(parts)


def _axis(left: float, top: float, bottom: float, scale_max: float, step: float, x, unit: str) -> str:
    parts = []
    value = 0.0
    while value <= scale_max + step / 2:
        position = x(value)
        parts.append(f'<line class="chart-grid" x1="{position:.1f}" y1="{top - 4:.1f}" x2="{position:.1f}" y2="{bottom:.1f}"></line>')
        parts.append(f'<text class="chart-axis" x="{position:.1f}" y="{top - 8:.1f}" text-anchor="middle">'
                     f"{_number(value, unit)}</text>")
        value += step
    return "".join(parts)


def _row_label(row: BarRow, right: float, middle: float) -> str:
    text = (f'<text class="chart-label" x="{right:.1f}" y="{middle:.1f}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(row.label)}</text>")
    if row.href:
        return f'<a href="{escape(row.href)}">{text}</a>'
    return text
