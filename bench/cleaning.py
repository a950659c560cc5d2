"""Cleaning 100,000 reading bodies into their stored lines: the project's typed decoder (msgspec)
against pydantic's `validate_json` + `model_dump_json` with the same bounds (pydantic comes with
Dagster), and against the standard library's `json.loads` + `json.dumps` doing no validation at
all (the floor a hand-written validator starts from). Best of --repeat runs each, alternating.

    .venv/bin/python bench/cleaning.py [--bodies 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlops_demo.core.messages.cleaning import (
    MAX_PRODUCT_ID_CHARS,
    MAX_UDI,
    PHYSICAL_RANGES,
    clean_reading,
)
from mlops_demo.core.messages.records import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    PRODUCT_TYPES,
    ROTATIONAL_SPEED,
    TOOL_WEAR,
    TORQUE,
    reading_of,
)
from mlops_demo.core.plant.simulator import simulate


def _bounded(field: str):
    low, high = PHYSICAL_RANGES[field]
    return Annotated[float, Field(ge=low, le=high, strict=True)]


class PydanticReading(BaseModel):
    """The same schema as `core/cleaning.Reading`, in pydantic."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    udi: Annotated[int, Field(ge=1, le=MAX_UDI, strict=True, alias="UDI")]
    product_id: Annotated[
        str, Field(min_length=1, max_length=MAX_PRODUCT_ID_CHARS, alias="Product ID")
    ]
    type: Annotated[Literal[PRODUCT_TYPES], Field(alias="Type")]
    air: Annotated[_bounded(AIR_TEMPERATURE), Field(alias=AIR_TEMPERATURE)]
    process: Annotated[_bounded(PROCESS_TEMPERATURE), Field(alias=PROCESS_TEMPERATURE)]
    speed: Annotated[_bounded(ROTATIONAL_SPEED), Field(alias=ROTATIONAL_SPEED)]
    torque: Annotated[_bounded(TORQUE), Field(alias=TORQUE)]
    tool_wear: Annotated[_bounded(TOOL_WEAR), Field(alias=TOOL_WEAR)]


def _project(bodies: list[bytes]) -> None:
    for body in bodies:
        clean_reading(body)


def _pydantic(bodies: list[bytes]) -> None:
    for body in bodies:
        PydanticReading.model_validate_json(body).model_dump_json(by_alias=True)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _stdlib(bodies: list[bytes]) -> None:
    for body in bodies:
        _ENCODER.encode(json.loads(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bodies = [json.dumps(reading_of(r)).encode() for r in simulate(args.bodies)]
    sides = {
        "project (msgspec)": _project,
        "pydantic": _pydantic,
        "json.loads + dumps": _stdlib,
    }
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(args.repeat):
        for name, side in sides.items():
            started = time.perf_counter()
            side(bodies)
            best[name] = min(best[name], time.perf_counter() - started)
    print(f"{args.bodies:,} reading bodies, best of {args.repeat} runs each, alternating")
    baseline = best["project (msgspec)"]
    for name, seconds in best.items():
        print(f"  {name:<20} {seconds * 1000:8.0f} ms   {seconds / baseline:5.2f}x the project")


if __name__ == "__main__":
    main()
