"""Ingestion: each stream's three assets, its job and its sensor, made by one factory.

`sensor_readings` acks a chunk of messages only after the store has made it durable: landed as
a batch, then cleaned into the store (fsync'd, or committed for PostgreSQL) and the batch
deleted. `cleaned_readings` moves into the store any batch a crashed or failed run left landed.
A run killed anywhere loses nothing: unacked messages are redelivered, landed batches wait for
the next run, and a replay stores nothing twice.
"""

from dataclasses import dataclass

import dagster as dg

from mlops_demo.core.store import IngestCounts
from mlops_demo.core.streams import Stream
from mlops_demo.defs.metadata import newest_metadata, store_location
from mlops_demo.defs.resources import RabbitMQResource, SettingsResource
from mlops_demo.defs.sensors import queue_depth_sensor

GROUP = "ingestion"


# A factory cannot give each stream's assets their own docstring, so they pass description=.
def _drain_asset(stream: Stream, name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds={"rabbitmq"},
        description=f"Messages drained from the {stream.name} queue; each chunk is acked only "
        "after it is stored (fsync'd, or committed for PostgreSQL) or quarantined.",
    )
    def drain_queue(rabbitmq: RabbitMQResource, settings: SettingsResource) -> dg.MaterializeResult:
        landing, target = settings.landing(stream), settings.store(stream)
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
        stored = sum(before_ack, IngestCounts())
        return dg.MaterializeResult(
            metadata={
                "queue": rabbitmq.queue_name(stream),
                "messages_received": received,
                "landed_batches_waiting": len(landing.batches()),
                "records_stored_before_ack": stored.stored,
                "duplicates_dropped_before_ack": stored.duplicates,
                "records_quarantined_before_ack": stored.quarantined,
            }
        )

    return drain_queue


def _stored_by_the_drain(context: dg.AssetExecutionContext, drain: dg.AssetKey) -> IngestCounts:
    """What this run's drain stored before its acks, so the cleaned asset shows the run's
    counts, whichever asset stored the messages."""
    metadata = newest_metadata(context.instance, drain, context.run.run_id)
    if not metadata:
        return IngestCounts()
    return IngestCounts(
        received=metadata["messages_received"],
        stored=metadata["records_stored_before_ack"],
        duplicates=metadata["duplicates_dropped_before_ack"],
        quarantined=metadata["records_quarantined_before_ack"],
    )


def _clean_asset(
    stream: Stream, name: str, upstream: dg.AssetsDefinition, store_kind: str
) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=[upstream],
        kinds={store_kind},
        description=f"The {stream.name} store, {stream.store_file} (or its PostgreSQL table): "
        "each UDI once; rejected messages kept in "
        f"{stream.quarantine_file} with their reason. Stores any batch a failed run left landed; "
        "its counts are the whole run's.",
    )
    def clean_into_store(
        context: dg.AssetExecutionContext, settings: SettingsResource
    ) -> dg.MaterializeResult:
        target = settings.store(stream)
        try:
            counts = _stored_by_the_drain(context, upstream.key) + target.ingest(
                settings.landing(stream), stream.clean
            )
        except OSError as exc:
            raise dg.Failure(
                description=f"could not write to {target.location} ({exc.strerror or exc}); "
                "the landed batches are kept and the next run stores them: free the space "
                "and run again."
            ) from None
        return dg.MaterializeResult(
            metadata={
                "messages_received": counts.received,
                "records_stored": counts.stored,
                "duplicates_dropped": counts.duplicates,
                "records_quarantined": counts.quarantined,
                "dagster/row_count": counts.total_rows,
                "store": store_location(target),
            }
        )

    return clean_into_store


def _summary_asset(
    stream: Stream, name: str, upstream: dg.AssetsDefinition, store_kind: str
) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=[upstream],
        kinds={store_kind},
        description=f"Where the {stream.name} store is and how many rows it holds, for training.",
    )
    def summarise_store(settings: SettingsResource) -> dg.MaterializeResult:
        target = settings.store(stream)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": target.row_count(), "store": store_location(target)}
        )

    return summarise_store


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


def stream_ingestion(
    stream: Stream, names: StreamNames, settings: SettingsResource
) -> dg.Definitions:
    """Everything one stream needs: its three assets, the job that runs them and the sensor that
    launches the job once the queue holds a batch. `settings` gives what Dagster must know
    when it loads the code location: the store's kind, the sensor's interval and the runs'
    time limit."""
    kind = settings.backend.kind
    drain_queue = _drain_asset(stream, names.raw)
    clean_into_store = _clean_asset(stream, names.cleaned, drain_queue, kind)
    summarise_store = _summary_asset(stream, names.historic, clean_into_store, kind)
    job = names.job
    ingestion_job = dg.define_asset_job(
        job,
        selection=[drain_queue, clean_into_store, summarise_store],
        description=f"Drain the {stream.name} queue into the store.",
        # A run whose process died with its code server stays "started" for ever, and its
        # sensor waits for it: the daemon's run monitoring fails it after this long instead.
        # Cutting a run short loses nothing (landed batches and redelivery cover it).
        tags={"dagster/max_runtime_seconds": str(settings.ingestion_max_runtime_seconds)},
    )
    return dg.Definitions(
        assets=[drain_queue, clean_into_store, summarise_store],
        jobs=[ingestion_job],
        sensors=[queue_depth_sensor(names.sensor, job, stream, settings.sensor_interval_seconds)],
    )
