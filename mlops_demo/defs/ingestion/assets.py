"""Ingestion: each stream's three assets and their checks (one step), its job and its sensor,
made by one factory.

`sensor_readings` acks a chunk of messages only after the store has made it durable: landed as
a batch, then cleaned into the store (fsync'd, or committed for PostgreSQL) and the batch
deleted. `cleaned_readings` moves into the store any batch a crashed or failed run left landed.
A run killed anywhere loses nothing: unacked messages are redelivered, landed batches wait for
the next run, and a replay stores nothing twice.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace

import dagster as dg

from mlops_demo.core.messages.streams import Stream
from mlops_demo.core.storage.protocol import IngestCounts
from mlops_demo.defs.ingestion.checks import ingestion_checks
from mlops_demo.defs.ingestion.sensors import queue_depth_sensor
from mlops_demo.defs.ingestion.settings import IngestionSettings
from mlops_demo.defs.metadata import store_location
from mlops_demo.defs.resources import CodeLocationSettings, RabbitMQResource, StorageResource

GROUP = "ingestion"


@dataclass(frozen=True)
class StreamNames:
    """What one stream's assets, job and sensor are called."""

    raw: str
    cleaned: str
    historic: str
    job: str
    sensor: str


READINGS_NAMES = StreamNames(
    raw="sensor_readings",
    cleaned="cleaned_readings",
    historic="historic_readings",
    job="get_all_readings_job",
    sensor="min_number_of_readings_sensor",
)
STATUSES_NAMES = StreamNames(
    raw="daily_machine_statuses",
    cleaned="cleaned_daily_statuses",
    historic="historic_daily_statuses",
    job="get_all_daily_machine_statuses_job",
    sensor="min_number_of_machine_statuses_sensor",
)


def _drain(
    stream: Stream, rabbitmq: RabbitMQResource, storage: StorageResource
) -> tuple[IngestCounts, dict]:
    """Drain the queue, storing each chunk before its ack; what it stored and its metadata."""
    landing, target = storage.landing(stream), storage.store(stream)
    before_ack: list[IngestCounts] = []

    def land(bodies: list[bytes]) -> None:
        before_ack.append(target.land_chunk(landing, bodies, stream.clean))

    try:
        received = rabbitmq.drain(stream, land)
    except OSError as exc:
        raise dg.Failure(
            description=f"could not store a chunk ({exc.strerror or exc}; store "
            f"{target.location}, landing area {landing.directory}); the messages of that "
            "chunk were not acked and stay queued, and what was stored or landed before is "
            "kept: free the space and run again."
        ) from None
    stored = replace(sum(before_ack, IngestCounts()), received=received)
    return stored, {
        "queue": rabbitmq.queue_name(stream),
        "messages_received": received,
        "landed_batches_waiting": len(landing.batches()),
        "records_stored_before_ack": stored.stored,
        "duplicates_dropped_before_ack": stored.duplicates,
        "records_quarantined_before_ack": stored.quarantined,
    }


def _store_landed(
    stream: Stream, storage: StorageResource, drained: IngestCounts
) -> tuple[IngestCounts, dict]:
    """Store any batch a failed run left landed; the run's counts, whoever stored them."""
    target = storage.store(stream)
    try:
        counts = drained + target.ingest(storage.landing(stream), stream.clean)
    except OSError as exc:
        raise dg.Failure(
            description=f"could not write to {target.location} ({exc.strerror or exc}); "
            "the landed batches are kept and the next run stores them: free the space "
            "and run again."
        ) from None
    return counts, {
        "messages_received": counts.received,
        "records_stored": counts.stored,
        "duplicates_dropped": counts.duplicates,
        "records_quarantined": counts.quarantined,
        "dagster/row_count": counts.total_rows,
        "store": store_location(target),
    }


def _specs(stream: Stream, names: StreamNames, store_kind: str) -> list[dg.AssetSpec]:
    # One step makes three assets, so each says what it is in its own description.
    return [
        dg.AssetSpec(
            names.raw,
            kinds={"rabbitmq"},
            description=f"Messages drained from the {stream.name} queue; each chunk is acked "
            "only after it is stored (fsync'd, or committed for PostgreSQL) or quarantined.",
        ),
        dg.AssetSpec(
            names.cleaned,
            deps=[names.raw],
            kinds={store_kind},
            description=f"The {stream.name} store, {stream.store_file} (or its PostgreSQL "
            f"table): each UDI once; rejected messages kept in {stream.quarantine_file} with "
            "their reason. Stores any batch a failed run left landed; its counts are the whole "
            "run's.",
        ),
        dg.AssetSpec(
            names.historic,
            deps=[names.cleaned],
            kinds={store_kind},
            description=f"Where the {stream.name} store is and how many rows it holds, for "
            "training.",
        ),
    ]


def _ingestion_asset(stream: Stream, names: StreamNames, store_kind: str) -> dg.AssetsDefinition:
    """The stream's three assets and its checks in one step: every step of a run costs
    Dagster's events and bookkeeping, a fixed cost per run (docs/benchmarks.md). Any asset or
    check runs alone too (the UI's Materialize or Execute)."""
    raw, cleaned, historic = (dg.AssetKey(n) for n in (names.raw, names.cleaned, names.historic))
    checks = ingestion_checks(stream, names.cleaned)

    @dg.multi_asset(
        name=f"ingest_{stream.name}",
        group_name=GROUP,
        specs=_specs(stream, names, store_kind),
        check_specs=[check.spec for check in checks],
        can_subset=True,
    )
    def ingest(
        context: dg.AssetExecutionContext,
        rabbitmq: RabbitMQResource,
        storage: StorageResource,
        ingestion_settings: IngestionSettings,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        selected = context.selected_asset_keys
        drained, stored = IngestCounts(), None
        if raw in selected:
            drained, metadata = _drain(stream, rabbitmq, storage)
            yield dg.MaterializeResult(asset_key=raw, metadata=metadata)
        if cleaned in selected:
            stored, metadata = _store_landed(stream, storage, drained)
            yield dg.MaterializeResult(asset_key=cleaned, metadata=metadata)
        if historic in selected:
            target = storage.store(stream)
            yield dg.MaterializeResult(
                asset_key=historic,
                metadata={"dagster/row_count": target.row_count(), "store": store_location(target)},
            )
        for check in checks:
            if check.spec.key in context.selected_asset_check_keys:
                yield check.evaluate(context, storage, ingestion_settings, stored)

    return ingest


def stream_ingestion(
    stream: Stream, names: StreamNames, loaded_with: CodeLocationSettings, store_kind: str
) -> dg.Definitions:
    """Everything one stream needs: its three assets, the job that runs them and the sensor that
    launches the job once the queue holds a batch. `loaded_with` and `store_kind` are what
    Dagster must know when it loads the code location: the sensor's interval and watch, the
    runs' time limit, and the store's kind (shown on the assets)."""
    ingest = _ingestion_asset(stream, names, store_kind)
    job = names.job
    ingestion_job = dg.define_asset_job(
        job,
        selection=[ingest],
        description=f"Drain the {stream.name} queue into the store.",
        # A run whose process died with its code server stays "started" for ever, and its
        # sensor waits for it: the daemon's run monitoring fails it after this long instead.
        # Cutting a run short loses nothing (landed batches and redelivery cover it).
        tags={"dagster/max_runtime_seconds": str(loaded_with.ingestion_max_runtime_seconds)},
    )
    return dg.Definitions(
        assets=[ingest],
        jobs=[ingestion_job],
        sensors=[queue_depth_sensor(names.sensor, job, stream, loaded_with)],
    )
