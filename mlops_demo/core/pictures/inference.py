"""`devices_at_risk`'s picture: today's riskiest machines with their probability and failure mode,
and how risk spreads over every reading scored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlops_demo.core.messages.records import PRODUCT_ID, UDI
from mlops_demo.core.pictures.canvas import CAUGHT, NEUTRAL, Picture, new_figure, picture

RISKIEST_DRAWN = 12


def risk_picture(scored: pd.DataFrame) -> Picture:
    """The picture: the riskiest machines as bars (at risk in colour, with the
    failure mode they are nearest), and the histogram of every reading's probability."""
    figure, (top, spread) = new_figure(height_inches=3.6, columns=2)
    riskiest = scored.head(RISKIEST_DRAWN).iloc[::-1]
    labels = [
        f"{row[PRODUCT_ID]} (UDI {row[UDI]}): {row['failure_mode']}"
        for _, row in riskiest.iterrows()
    ]
    colours = [CAUGHT if at_risk else NEUTRAL for at_risk in riskiest["at_risk"]]
    top.barh(labels, riskiest["failure_probability"], color=colours)
    top.set_xlim(0, 1)
    top.set_xlabel("calibrated failure probability")
    top.set_title(f"the {len(riskiest)} riskiest of {len(scored)} (blue: at risk)", fontsize=9)
    top.tick_params(axis="y", labelsize=7)
    probabilities = scored["failure_probability"].to_numpy()
    spread.hist(probabilities, bins=np.linspace(0, 1, 21), color=NEUTRAL, log=True)
    spread.set_xlabel("calibrated failure probability")
    spread.set_ylabel("readings (log scale)")
    spread.set_title(f"expected failures {probabilities.sum():.1f}", fontsize=9)
    return picture(
        figure,
        "Left: the riskiest machines this morning, with the failure mode each is nearest. "
        "Right: every reading scored, by probability; their sum is the expected failures.",
    )
