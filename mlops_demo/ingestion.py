"""Ingestion assets: drain a queue into the landing area, clean it into the store, summarise it.

`sensor_readings` acks a chunk of messages only after the chunk is a durable landing batch;
`cleaned_readings` moves every landed batch into the store. A run killed anywhere loses nothing:
unacked messages are redelivered, and landed batches wait for the next `cleaned_*` run.
"""

import dagster as dg

from mlops_demo.resources import DataDirResource, RabbitMQResource
from mlops_demo.store import IngestCounts
from mlops_demo.streams import READINGS, STATUSES, Stream

GROUP = "ingestion"


def _ingestion_chain(
    stream: Stream, raw: str, cleaned: str, historic: str
) -> list[dg.AssetsDefinition]:
    # A factory cannot give each stream its own docstring, so these assets pass description=.
    @dg.asset(
        name=raw,
        group_name=GROUP,
        description=f"Messages drained from the {stream.name} queue into durable landing batches; "
        "each chunk is acked only after its batch is fsync'd.",
    )
    def drain_queue(rabbitmq: RabbitMQResource, data: DataDirResource) -> dg.MaterializeResult:
        landing = data.landing(stream)
        store = data.store(stream)
        committed: list[IngestCounts] = []

        def keep(bodies: list[bytes]) -> None:
            landing.land(bodies)
            if store.commits_before_ack:
                # A shared database is the durable place: commit there before the ack, so a
                # consumer machine lost for good after the ack loses nothing.
                committed.append(store.ingest(landing, stream.validate))

        try:
            received = rabbitmq.drain(stream, keep)
        except OSError as exc:
            raise dg.Failure(
                description=f"could not write a landing batch in {landing.directory} "
                f"({exc.strerror or exc}); the messages of that chunk were not acked and stay "
                "queued, and batches landed before it are kept: free the space and run again."
            ) from None
        metadata = {
            "queue": rabbitmq.queue_name(stream),
            "messages_received": received,
            "landed_batches_waiting": len(landing.batches()),
        }
        if store.commits_before_ack:
            metadata |= {
                "records_stored_before_ack": sum(c.stored for c in committed),
                "duplicates_dropped_before_ack": sum(c.duplicates for c in committed),
                "records_quarantined_before_ack": sum(c.quarantined for c in committed),
            }
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(
        name=cleaned,
        group_name=GROUP,
        deps=[drain_queue],
        description=f"Landed {stream.name} cleaned into {stream.store_file}, each UDI once; "
        f"rejected messages kept in {stream.quarantine_file} with their reason.",
    )
    def clean_into_store(data: DataDirResource) -> dg.MaterializeResult:
        store = data.store(stream)
        try:
            counts = store.ingest(data.landing(stream), stream.validate)
        except OSError as exc:
            raise dg.Failure(
                description=f"could not write to {store.location} ({exc.strerror or exc}); "
                "the landed batches are kept and the next run stores them: free the space "
                "and run again."
            ) from None
        return dg.MaterializeResult(
            metadata={
                "messages_received": counts.received,
                "records_stored": counts.stored,
                "duplicates_dropped": counts.duplicates,
                "records_quarantined": counts.quarantined,
                "store_total_rows": counts.total_rows,
                "store": store.location,
            }
        )

    @dg.asset(
        name=historic,
        group_name=GROUP,
        deps=[clean_into_store],
        description=f"Where the {stream.name} store is and how many rows it holds, for training.",
    )
    def summarise_store(data: DataDirResource) -> dg.MaterializeResult:
        store = data.store(stream)
        return dg.MaterializeResult(
            metadata={"store_total_rows": store.row_count(), "store": store.location}
        )

    return [drain_queue, clean_into_store, summarise_store]


sensor_readings, cleaned_readings, historic_readings = _ingestion_chain(
    READINGS, "sensor_readings", "cleaned_readings", "historic_readings"
)
daily_machine_statuses, cleaned_daily_statuses, historic_daily_statuses = _ingestion_chain(
    STATUSES, "daily_machine_statuses", "cleaned_daily_statuses", "historic_daily_statuses"
)
