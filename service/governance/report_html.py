"""The governance report as one self-contained HTML page, its plots drawn on the server.

Committees look at pictures first: how each card kind is received, why it is overridden, and how
that moves week by week. The plots are matplotlib figures written as inline SVG (text drawn as
paths, so they look the same in every browser and on paper); the page has inline CSS, no script
and no external URL, so it can be saved, mailed or printed as it is. Colours differ in lightness
and carry hatching, so the plots still read when printed in black and white.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

from cards import snooze
from service.governance.report import REASON_LABELS, REASONS, Counts, Report, percent, top_reasons

MAX_KINDS = 15  # bars per plot; the table lists every kind
# (colour, hatch) from dark to light: apart in black and white too
ACCEPTED = ("#1f4e79", "")
OVERRIDDEN = ("#e07b39", "///")
NO_RESPONSE = ("#d9d9d9", "")
REASON_STYLES = (
    ("#3b0f70", ""),
    ("#8c2981", "///"),
    ("#de4968", ""),
    ("#fe9f6d", "\\\\\\"),
    ("#fcfdbf", "xx"),
    ("#2d708e", ".."),
    ("#525252", ""),
    ("#e5e5e5", "--"),
)
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v")

CSS = """
@page { size: A4; margin: 14mm; }
body { font: 10.5pt/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111;
  max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
p.meta { color: #444; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #999; padding: 0.25rem 0.45rem; vertical-align: top; }
th { background: #eee; text-align: left; } td.n { text-align: right; white-space: nowrap; }
td.reasons { min-width: 14em; }
tr.total td { font-weight: bold; border-top: 2px solid #333; }
figure { margin: 1rem 0 1.5rem; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.3rem; }
svg { max-width: 100%; height: auto; display: block; }
form { margin: 0.5rem 0 1rem; } dt { font-weight: bold; } dd { margin: 0 0 0.4rem 1.2rem; }
@media print { form, .screen { display: none; } body { margin: 0; max-width: none; }
  table { font-size: 8.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; } tr { break-inside: avoid; } }
"""


def render(report: Report, *, page_controls: bool = True) -> str:
    """The whole page; `page_controls` adds the date form and CSV link of `/admin/report`."""
    period = f"since {report.since.isoformat()}" if report.since else "all recorded time"
    total = report.total
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>CDS governance report, {_e(period)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>CDS governance report</h1>",
        f'<p class="meta">ms-backpain-cds, {_e(period)}; generated '
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC. {total.shown:,} cards shown, "
        f"{total.accepted:,} accepted, {total.overridden:,} overridden, "
        f"{total.suppressed:,} hidden by a snooze.</p>",
    ]
    if page_controls:
        since = report.since.isoformat() if report.since else ""
        query = f"?since={since}" if since else ""
        parts.append(
            '<form method="get" action="" class="screen"><label>Since '
            f'<input type="date" name="since" value="{since}"></label> '
            '<button type="submit">Show</button> '
            f'<a href="report.csv{query}">Download CSV</a></form>'
        )
    if not any(c.shown for c in report.kinds):
        parts.append("<p>No cards were shown in this period.</p>")
    else:
        parts += _figures(report)
    parts += _table(report)
    parts += _definitions()
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _figures(report: Report) -> list[str]:
    kinds = [c for c in report.kinds if c.shown][:MAX_KINDS]  # rates need cards shown
    out = [
        "<h2>How each card kind is received</h2>",
        _figure(
            _response_plot(kinds),
            "Share of the cards shown that were accepted, overridden or left without a response, "
            "most shown kind first; n is the number shown. A kind mostly overridden is one to "
            "reword or retire.",
        ),
    ]
    overridden = [c for c in report.kinds if c.overridden][:MAX_KINDS]
    if overridden:
        out += [
            "<h2>Why cards are overridden</h2>",
            _figure(
                _reasons_plot(overridden),
                "Overrides by the reason the clinician chose, per card kind.",
            ),
        ]
    if report.weeks:
        out += [
            "<h2>Week by week</h2>",
            _figure(
                _trend_plot(report),
                "Cards shown per week (all kinds, and the most shown kinds) and hidden by a "
                "snooze; below, the share of cards shown each week that were accepted or "
                "overridden. Weeks start on Monday (UTC).",
            ),
        ]
    return out


def _figure(svg: str, caption: str) -> str:
    text = _e(caption)
    return f'<figure role="img" aria-label="{text}">{svg}<figcaption>{text}</figcaption></figure>'


def _table(report: Report) -> list[str]:
    head = (
        "<tr><th>Card kind</th><th>Indicator</th><th>Shown</th><th>Accepted</th>"
        "<th>Overridden</th><th>Acceptance rate</th><th>Override rate</th>"
        "<th>Hidden by snooze</th><th>Top override reasons</th></tr>"
    )
    rows = [_row(c) for c in report.kinds]
    rows.append(_row(report.total, total=True))
    out = ["<h2>Per card kind</h2>", f"<table><thead>{head}</thead><tbody>", *rows]
    out.append("</tbody></table>")
    if report.quiet_kinds:
        out.append(
            "<p>Not shown and without feedback in this period: "
            + ", ".join(f"<code>{_e(k)}</code>" for k in report.quiet_kinds)
            + ".</p>"
        )
    return out


def _row(c: Counts, total: bool = False) -> str:
    cells = [
        "<td>All kinds</td>" if total else f"<td><code>{_e(c.kind)}</code></td>",
        f"<td>{_e(c.indicator)}</td>",
        *(f'<td class="n">{n:,}</td>' for n in (c.shown, c.accepted, c.overridden)),
        f'<td class="n">{percent(c.acceptance_rate)}</td>',
        f'<td class="n">{percent(c.override_rate)}</td>',
        f'<td class="n">{c.suppressed:,}</td>',
        f'<td class="reasons">{_e(top_reasons(c))}</td>',
    ]
    return ('<tr class="total">' if total else "<tr>") + "".join(cells) + "</tr>"


def _definitions() -> list[str]:
    rows = "".join(
        f"<li><code>{_e(r.decision)}</code>: info cards: {_e(snooze.period_words(r.days['info']))}"
        f"; warning cards: {_e(snooze.period_words(r.days['warning']))}</li>"
        for r in snooze.TABLE.values()
    )
    return [
        "<h2>What the numbers mean</h2><dl>",
        "<dt>Shown</dt><dd>Cards answered to the EHR (issuance ledger: no patient data).</dd>",
        "<dt>Accepted, overridden</dt><dd>Feedback received from the EHR in the period, "
        "matched to the card kind by the card's uuid. Override comments are not read.</dd>",
        "<dt>Acceptance rate, override rate</dt><dd>Accepted (overridden) divided by shown.</dd>",
        "<dt>Hidden by snooze</dt><dd>Cards produced but not shown, because a clinician had "
        "decided on the same card (same patient, kind and evidence). Critical cards are never "
        "hidden; new evidence shows a card again.</dd></dl>",
        f"<p>Snooze periods (cards/data/snooze.csv):</p><ul>{rows}</ul>",
    ]


# --- plots --------------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # imported on first use: the service starts faster

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _svg(fig: Any) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "mscds-report"}):
        fig.savefig(buffer, format="svg", metadata={k: None for k in _SVG_METADATA})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)  # namespaces are implied inside HTML


_SVG_METADATA = ("Creator", "Date", "Format", "Type")


def _style_axes(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)


def _response_plot(kinds: list[Counts]) -> str:
    fig = _new_figure(8.0, 0.34 * len(kinds) + 1.1)
    ax = fig.add_subplot()
    names = [c.kind for c in kinds][::-1]
    shown = [max(c.shown, 1) for c in kinds][::-1]
    accepted = [c.accepted / s for c, s in zip(kinds[::-1], shown, strict=True)]
    overridden = [c.overridden / s for c, s in zip(kinds[::-1], shown, strict=True)]
    rest = [max(0.0, 1 - a - o) for a, o in zip(accepted, overridden, strict=True)]
    left = _stacked_bars(
        ax,
        names,
        [
            ("accepted", accepted, ACCEPTED),
            ("overridden", overridden, OVERRIDDEN),
            ("no response", rest, NO_RESPONSE),
        ],
    )
    for y, c in enumerate(kinds[::-1]):
        ax.text(max(1.01, left[y] + 0.01), y, f"n={c.shown:,}", va="center", fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
    _style_axes(ax)
    return _svg(fig)


def _reasons_plot(kinds: list[Counts]) -> str:
    fig = _new_figure(8.0, 0.34 * len(kinds) + 1.4)
    ax = fig.add_subplot()
    names = [c.kind for c in kinds][::-1]
    used = [r for r in REASONS if any(c.reasons.get(r) for c in kinds)]
    _stacked_bars(
        ax,
        names,
        [
            (
                REASON_LABELS[reason],
                [float(c.reasons.get(reason, 0)) for c in kinds][::-1],
                REASON_STYLES[i % len(REASON_STYLES)],
            )
            for i, reason in enumerate(used)
        ],
    )
    ax.set_xlabel("overrides", fontsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
    _style_axes(ax)
    return _svg(fig)


def _trend_plot(report: Report) -> str:
    fig = _new_figure(8.0, 5.2)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    weeks = list(report.weeks)
    totals = [_week_total(report, w) for w in weeks]
    top.plot(
        weeks,
        [t.shown for t in totals],
        color="#111",
        linewidth=2.2,
        marker="o",
        label="all kinds, shown",
    )
    top.plot(
        weeks,
        [t.suppressed for t in totals],
        color="#777",
        linewidth=1.5,
        linestyle="--",
        marker="x",
        label="all kinds, hidden by snooze",
    )
    for i, c in enumerate(report.kinds[:5]):
        series = [report.weeks[w].get(c.kind, Counts(c.kind)).shown for w in weeks]
        top.plot(
            weeks,
            series,
            linewidth=1.1,
            linestyle=LINE_STYLES[i],
            marker=MARKERS[i],
            markersize=3.5,
            label=c.kind,
        )
    top.set_ylabel("cards per week", fontsize=8)
    top.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    top.set_ylim(bottom=0)
    rates = [(t.acceptance_rate, t.override_rate) for t in totals]
    bottom.plot(
        weeks,
        [a if a is not None else float("nan") for a, _ in rates],
        color=ACCEPTED[0],
        marker="o",
        label="acceptance rate",
    )
    bottom.plot(
        weeks,
        [o if o is not None else float("nan") for _, o in rates],
        color=OVERRIDDEN[0],
        linestyle="--",
        marker="s",
        label="override rate",
    )
    bottom.set_ylim(0, 1)
    bottom.set_yticks([0, 0.5, 1.0], ["0%", "50%", "100%"])
    bottom.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    bottom.set_xticks(weeks, [w.strftime("%d %b %Y") for w in weeks], rotation=30, ha="right")
    if len(weeks) > 12:
        for i, label in enumerate(bottom.get_xticklabels()):
            label.set_visible(i % ((len(weeks) + 11) // 12) == 0)
    for ax in (top, bottom):
        _style_axes(ax)
    return _svg(fig)


def _week_total(report: Report, week: Any) -> Counts:
    out = Counts("all")
    for c in report.weeks[week].values():
        out.add(c)
    return out


def _stacked_bars(
    ax: Any, names: list[str], series: list[tuple[str, list[float], tuple[str, str]]]
) -> list[float]:
    """Horizontal bars, one series after another along each row; the rows' totals."""
    left = [0.0] * len(names)
    for label, values, (colour, hatch) in series:
        ax.barh(
            names,
            values,
            left=left,
            color=colour,
            hatch=hatch,
            edgecolor="#333",
            linewidth=0.4,
            label=label,
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    return left
