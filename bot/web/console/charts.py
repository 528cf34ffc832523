"""Server-side SVG charts for the supervision dashboard: no script, no other origin, printable.

Every label is XML-escaped; the SVG scales with its box (viewBox) and carries a <title> and a
<desc> listing the values, so a screen reader and a printout both have the numbers.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 40, 48
COLOURS = ("#1d5fbf", "#2e9e5b", "#d9822b", "#c0392b")


def _frame(title: str, body: list[str], legend: list[tuple[str, str]], desc: str) -> str:
    items = []
    x = LEFT
    for name, colour in legend:
        items.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="35" font-size="12">{escape(name)}</text>')
        x += 16 + 13 * len(name) + 16
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" class="chart" font-family="sans-serif">'
            f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>'
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>'
            f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>'
            + "".join(items) + "".join(body) + "</svg>")


def _empty(title: str, note: str) -> str:
    return _frame(title, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                          f'font-size="16" fill="#666" class="empty">{escape(note)}</text>'],
                  [], note)


def _axes(labels: list[str], top: float, percent: bool) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = []
    for step in range(5):
        value = top * step / 4
        y = HEIGHT - BOTTOM - plot_h * step / 4
        text = f"{value * 100:.0f}%" if percent else f"{value:.0f}"
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{text}</text>')
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(f'<text x="{_x(i, len(labels)):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                       f'font-size="11" text-anchor="middle">{escape(label)}</text>')
    return out


def _x(i: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (i + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value / top if top else 0)


def bars(title: str, labels: list[str], series: list[tuple[str, list[int]]],
         empty_note: str = "该时段没有数据") -> str:
    """Grouped bars, one group per label."""
    top = max((v for _, values in series for v in values), default=0)
    if not labels or top == 0:
        return _empty(title, empty_note)
    top = _nice(top)
    group_w = (WIDTH - LEFT - RIGHT) / len(labels) * 0.8
    bar_w = group_w / len(series)
    body = _axes(labels, top, False)
    for s, (name, values) in enumerate(series):
        for i, value in enumerate(values):
            x = _x(i, len(labels)) - group_w / 2 + s * bar_w
            y = _y(value, top)
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                        f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{COLOURS[s % 4]}" class="bar">'
                        f'<title>{escape(f"{labels[i]} {name} {value}")}</title></rect>')
    desc = "；".join(f"{name}：" + "、".join(f"{l} {v}" for l, v in zip(labels, values))
                    for name, values in series)
    return _frame(title, body, [(n, COLOURS[i % 4]) for i, (n, _) in enumerate(series)], desc)


def lines(title: str, labels: list[str], series: list[tuple[str, list[float | None]]],
          empty_note: str = "该时段没有可计算的比率") -> str:
    """Rates (0..1) as lines; a missing value (nothing to rate) breaks the line."""
    if not labels or all(v is None for _, values in series for v in values):
        return _empty(title, empty_note)
    body = _axes(labels, 1.0, True)
    for s, (name, values) in enumerate(series):
        runs, run = [], []
        for i, value in enumerate(values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{_x(i, len(labels)):.1f},{_y(value, 1.0):.1f}")
        if run:
            runs.append(run)
        for points in runs:
            if len(points) == 1:
                x, y = points[0].split(",")
                body.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{COLOURS[s % 4]}" class="point"/>')
            else:
                body.append(f'<polyline points="{" ".join(points)}" fill="none" '
                            f'stroke="{COLOURS[s % 4]}" stroke-width="2" class="line"/>')
    desc = "；".join(f"{name}：" + "、".join(f"{l} {'—' if v is None else f'{v * 100:.1f}%'}"
                                            for l, v in zip(labels, values))
                    for name, values in series)
    return _frame(title, body, [(n, COLOURS[i % 4]) for i, (n, _) in enumerate(series)], desc)


def _nice(top: float) -> float:
    """A round upper bound for the axis (1, 2, 5 × 10^n)."""
    scale = 1
    while True:
        for m in (1, 2, 5):
            if top <= m * scale:
                return m * scale
        scale *= 10
