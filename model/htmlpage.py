"""Byte-deterministic HTML pages with embedded figures, shared by the run report and experiments.

The same inputs must give the same bytes (the project's determinism rule), so figures are drawn on bare
`matplotlib.figure.Figure` objects (Agg, no pyplot state), at a fixed size and dpi, under a fixed
style, and saved as PNG without the "Software" metadata; nothing on a page carries a date.
"""

from __future__ import annotations

import base64
import html
import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import matplotlib
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from model.outputs import tidy, write_atomic

DPI = 100
_STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
          "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8}

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 0.8em 0; } figure img { max-width: 100%; } figcaption { font-size: 0.88em; color: #555; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
.meta { color: #555; }
"""


@contextmanager
def style() -> Iterator[None]:
    """The fixed plotting style every figure is drawn under (seaborn whitegrid, DejaVu Sans)."""
    with sns.axes_style("whitegrid"), matplotlib.rc_context(_STYLE):
        yield


def new_figure(width_in: float, height_in: float, nrows: int = 1, ncols: int = 1, **kwargs) -> tuple[Figure, object]:
    """A pyplot-free figure and its axes; call inside `style()` so the axes take the style."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes with no software/date metadata, so the bytes depend on the data only."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def figure(fig: Figure, alt: str, caption: str) -> str:
    """An HTML <figure> with the PNG embedded as base64."""
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def table(frame: pd.DataFrame, decimals: int = 2) -> str:
    """A data frame as an HTML table, floats rounded (and -0 normalised) for stable bytes."""
    shown = tidy(frame)
    for column in shown.select_dtypes(include="float").columns:
        shown[column] = shown[column].round(decimals) + 0.0
    return shown.to_html(index=False, border=0, float_format=lambda v: f"{v:,.{decimals}f}", na_rep="")


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n" + "\n".join(parts) + "\n</section>"


def paragraph(text: str, css_class: str | None = None) -> str:
    cls = f' class="{css_class}"' if css_class else ""
    return f"<p{cls}>{html.escape(text)}</p>"


def page(title: str, header: str, sections: list[str]) -> str:
    """A complete one-page HTML document: title, a header block, then the sections."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{header}\n" + "\n".join(sections) + "\n</body>\n</html>\n")


def write(text: str, path: Path) -> None:
    """Write a page atomically, as the other outputs are written."""
    write_atomic(Path(path), text)
