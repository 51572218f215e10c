"""Charts drawn by the server as inline SVG: no script, no external resource, no inline style (the CSP forbids them).

Each chart is an image to assistive technology (`role="img"`, a `<title>` and an `aria-label` that reads out every
number); pages show the same numbers in a table beside it. Colours are presentation attributes with at least 3:1
contrast against white (WCAG 2.2 SC 1.4.11), and text is the page's ink colour.

Numbers go through coordinator/statistics/disclosure.py: a count below 5 draws no bar and reads "fewer than 5", a
rate over fewer than 5 draws no fill, so no length in the SVG gives a small count away either.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from coordinator.statistics.disclosure import count_text, enough, rate_text, suppressed

# Narrow on purpose: the SVG scales to its container (see .chart in app.css), and text must stay legible on a phone.
WIDTH = 360  # the viewBox width
ROW = 46  # a label line above a bar
HEADING = 28  # a group's heading line
BAR_HEIGHT = 18
FONT_SIZE = 15
VALUE_SPACE = 130  # room on the right of the longest bar for its value
INK = "#1d2327"
BAR = "#0b5a57"
TRACK = "#e3e8e7"
TRACK_EDGE = "#5f6b70"

# Fills for the segments of a stacked bar, each at least 4.5:1 against white.
TONES = {
    "neutral": "#5f6b70",
    "info": "#1f5f99",
    "good": "#1b5e3b",
    "bad": "#a3242a",
}


def bar_chart(title: str, rows: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, count), scaled to the largest count; a suppressed count draws no bar."""
    largest = max((value for _label, value in rows if not suppressed(value)), default=0)
    scale = (WIDTH - VALUE_SPACE) / largest if largest else 0
    parts, readout = [], []
    for index, (label, value) in enumerate(rows):
        top = index * ROW
        length = max(value * scale, 2) if value > 0 and not suppressed(value) else 0
        text = count_text(value)
        parts += [_text(0, top + 15, label),
                  _rect(0, top + 21, length, BAR_HEIGHT, BAR),
                  _text(length + 8, top + 35, text)]
        readout.append(f"{label}: {text}")
    return _svg(title, readout, len(rows) * ROW + 4, parts)


def percentage_bars(title: str, groups: Sequence[tuple[str, Sequence[tuple[str, int, int]]]]) -> Markup:
    """0-100 % bars, one per (label, part, whole) under each group's heading, with "62 % (5 of 8)" beside them.

    A zero whole reads "no data", a whole below 5 gives no rate; an empty heading draws no heading line.
    """
    track = WIDTH - VALUE_SPACE
    parts, readout, top = [], [], 0
    for heading, rows in groups:
        if heading:
            parts.append(_text(0, top + 17, heading, bold=True))
            top += HEADING
        for label, part, whole in rows:
            text = rate_text(part, whole)
            parts += [_text(0, top + 15, label),
                      _rect(0, top + 21, track, BAR_HEIGHT, TRACK, edge=TRACK_EDGE)]
            if enough(whole) and part:
                parts.append(_rect(0, top + 21, track * part / whole, BAR_HEIGHT, BAR))
            parts.append(_text(track + 8, top + 35, text))
            readout.append(f"{heading}, {label}: {text}" if heading else f"{label}: {text}")
            top += ROW
    return _svg(title, readout, top + 4, parts)


def stacked_bar(title: str, segments: Sequence[tuple[str, int, str]]) -> Markup:
    """One bar split into (label, value, tone) segments in proportion, with a legend line per segment.

    Over fewer than 5 in all nothing is drawn in proportion; a suppressed segment is left out of the bar.
    """
    total = sum(value for _label, value, _tone in segments)
    parts = [_rect(0, 0, WIDTH, 30, TRACK, edge=TRACK_EDGE)]
    readout, offset = [], 0.0
    for label, value, tone in segments:
        if enough(total) and value and not suppressed(value):
            length = WIDTH * value / total
            # A white edge keeps neighbouring segments apart for readers who cannot tell the colours apart.
            parts.append(_rect(offset, 0, length, 30, TONES[tone], edge="#ffffff",
                               title=f"{label}: {rate_text(value, total)}"))
            offset += length
    for index, (label, value, tone) in enumerate(segments):
        top = 44 + index * 26
        text = f"{label}: {rate_text(value, total)}"
        parts += [_rect(0, top, 16, 16, TONES[tone]), _text(24, top + 13, text)]
        readout.append(text)
    return _svg(title, readout, 44 + len(segments) * 26, parts)


def _svg(title: str, readout: list[str], height: int, parts: list[str]) -> Markup:
    label = f"{title}. {'; '.join(readout)}." if readout else str(title)
    # Every text in the SVG (title, label, and in `parts` each _text and _rect title) is escaped; the rest are
    # numbers and the colour constants above.
    return Markup(  # nosec B704 # built only from escaped text, numbers and constants
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" focusable="false" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-label="{escape(label)}"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _text(x: float, y: float, content: object, *, bold: bool = False) -> str:
    weight = ' font-weight="700"' if bold else ""
    return f'<text x="{x:.1f}" y="{y}" font-size="{FONT_SIZE}"{weight} fill="{INK}">{escape(str(content))}</text>'


def _rect(x: float, y: float, width: float, height: float, fill: str, *, edge: str | None = None,
          title: str | None = None) -> str:
    stroke = f' stroke="{edge}" stroke-width="1"' if edge else ""
    inner = f"<title>{escape(title)}</title>" if title else ""
    return (f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{height}" fill="{fill}"{stroke}>'
            f"{inner}</rect>")
