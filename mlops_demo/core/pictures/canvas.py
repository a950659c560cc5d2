"""One look for every picture: a width the asset page shows without scaling, PNG bytes, and the
Markdown that embeds them in Dagster metadata (the UI shows it under [Show Markdown])."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# 7.5 x 100 dpi = 750 px: the metadata dialog's width, so text stays readable unscaled.
WIDTH_INCHES = 7.5
DPI = 100
CAUGHT, MISSED, ALARM, NEUTRAL = "#2b7bba", "#e07b39", "#c0392b", "#7f8c8d"


def new_figure(height_inches: float = 3.2, columns: int = 1) -> tuple[Figure, list]:
    """A figure and its axes side by side. matplotlib is imported here, by the steps that plot:
    every other run starts without it."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, height_inches), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, columns, squeeze=False)[0]
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return figure, list(axes)


@dataclass(frozen=True)
class Picture:
    """A PNG and the caption that says how to read it."""

    image: bytes
    caption: str

    def markdown(self) -> str:
        """Embedded in Markdown metadata, which the UI shows under [Show Markdown]."""
        encoded = base64.b64encode(self.image).decode("ascii")
        return f"![{self.caption}](data:image/png;base64,{encoded})\n\n{self.caption}"


def picture(figure: Figure, caption: str) -> Picture:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return Picture(buffer.getvalue(), caption)
