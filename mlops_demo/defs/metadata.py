"""Metadata helpers the assets and checks share: reading an asset's newest figures, and numbers
and locations in the forms the UI can show."""

from typing import TYPE_CHECKING

import dagster as dg

from mlops_demo.core.storage.jsonl import JsonlStore
from mlops_demo.core.storage.protocol import Store

if TYPE_CHECKING:
    from mlops_demo.core.pictures.canvas import Picture

NAN = float("nan")


def newest_metadata(
    instance: dg.DagsterInstance, asset: dg.AssetKey, run_id: str | None = None
) -> dict:
    """The metadata values of the asset's newest materialization: {} if it has none, or if
    `run_id` is given and another run made it."""
    latest = instance.fetch_materializations(asset, limit=1).records
    if not latest or (run_id is not None and latest[0].run_id != run_id):
        return {}
    return {key: value.value for key, value in latest[0].asset_materialization.metadata.items()}


def store_location(store: Store) -> dg.MetadataValue:
    """A JSONL store as a path the UI can copy; a PostgreSQL one as its redacted URL and table."""
    if isinstance(store, JsonlStore):
        return dg.MetadataValue.path(store.location)
    return dg.MetadataValue.text(store.location)


def table_cell(value: float | None) -> float | None:
    # null, never NaN, in a table: the UI parses each record as JSON, which has no NaN.
    return None if value is None else round(value, 4)


def plotted_number(value: float | None) -> float:
    """A float the Plots view can chart; NaN where there is no value yet."""
    return NAN if value is None else round(value, 4)


def picture_metadata(key: str, picture: "Picture | None") -> dict:
    """The picture as Markdown metadata under `key` (the UI shows it under [Show Markdown]), or
    nothing when there is nothing to draw yet."""
    return {} if picture is None else {key: dg.MetadataValue.md(picture.markdown())}
