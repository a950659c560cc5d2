"""RabbitMQ over pika: durable queues, confirmed publishing, queue depth, ack-after-write drain."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress

import pika
import pika.exceptions

from mlops_demo.core.settings import (
    QUEUE_TYPES,
    SettingsError,
    check_credentials,
    checked_choice,
    redact_error,
    redact_url,
)

DEFAULT_CHUNK_SIZE = 5000
PREFETCH_CHUNKS = 2
# How long a drain waits for one more message before it asks the broker whether the queue is
# empty; and how long it goes on waiting while the broker says messages are ready but sends
# none (a broker paging a deep queue in from disk pauses for seconds).
IDLE_SECONDS = 1.0
STALL_SECONDS = 30.0


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached or dropped the connection."""


class QueueTypeMismatch(SettingsError):
    """A queue exists with the other type than MLOPS_QUEUE_TYPE asks for: trying again cannot
    help, a person must choose."""


_BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)


@contextmanager
def channel(
    url: str, connect_timeout: float = 5.0
) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    """An open channel; connection failures become one BrokerUnavailable naming the broker."""
    try:
        check_credentials(url)
    except SettingsError as exc:
        raise BrokerUnavailable(f"refusing to connect: {exc}") from None
    try:
        params = pika.URLParameters(url)
    except (ValueError, TypeError) as exc:  # a port or a query option pika cannot read
        raise BrokerUnavailable(
            f"refusing to connect: MLOPS_BROKER_URL ({redact_url(url)}) cannot be read "
            f"({redact_error(str(exc), url)})"
        ) from None
    # Names the connection in `rabbitmqctl list_connections` and the management UI.
    params.client_properties = {"connection_name": f"mlops_demo pid {os.getpid()}"}
    params.socket_timeout = connect_timeout
    params.blocked_connection_timeout = 60
    try:
        connection = pika.BlockingConnection(params)
    except _BROKER_ERRORS as exc:
        raise BrokerUnavailable(
            f"cannot reach the RabbitMQ broker at {redact_url(url)} "
            f"({redact_error(_describe(exc), url)})"
        ) from None
    try:
        yield connection.channel()
    # Only pika's own errors: an OSError here comes from the caller's work (a full disk, say).
    except pika.exceptions.AMQPError as exc:
        raise BrokerUnavailable(
            f"lost the RabbitMQ broker at {redact_url(url)} ({_describe(exc)})"
        ) from exc
    finally:
        if connection.is_open:
            with suppress(_BROKER_ERRORS):
                connection.close()


def _describe(exc: BaseException) -> str:
    # pika nests the socket error two levels deep; the innermost one says what happened.
    while True:
        inner = getattr(exc, "exception", None) or (exc.args[0] if exc.args else None)
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def declare(ch, queue: str, queue_type: str | None = None) -> int:
    """Declare the durable queue (idempotent) and return how many messages wait in it.

    Its type (classic unless given) is always named, so a queue of the other type is
    an error, never silently used."""
    queue_type = checked_choice("MLOPS_QUEUE_TYPE", queue_type or QUEUE_TYPES[0], QUEUE_TYPES)
    try:
        declared = ch.queue_declare(
            queue=queue, durable=True, arguments={"x-queue-type": queue_type}
        )
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != 406 or "x-queue-type" not in exc.reply_text:
            raise
        existing = "quorum" if "'quorum'" in exc.reply_text.split("current is")[-1] else "classic"
        raise QueueTypeMismatch(
            f"queue {queue!r} exists as a {existing} queue, but MLOPS_QUEUE_TYPE asks for "
            f"{queue_type}; a queue cannot change its type. Set MLOPS_QUEUE_TYPE={existing} to "
            f"keep it, or let it drain and delete it (rabbitmqctl delete_queue {queue}) to have "
            f"it declared as {queue_type}"
        ) from None
    return declared.method.message_count


def queue_depth(url: str, queue: str, queue_type: str | None = None) -> int:
    """Messages ready in the queue; the queue is declared if it does not exist yet."""
    with channel(url) as ch:
        return declare(ch, queue, queue_type)


def purge(url: str, queue: str, queue_type: str | None = None) -> int:
    """Remove every ready message from the queue and return how many there were."""
    with channel(url) as ch:
        declare(ch, queue, queue_type)
        return ch.queue_purge(queue).method.message_count


def delete_queue(url: str, queue: str) -> None:
    with channel(url) as ch:
        ch.queue_delete(queue)


PERSISTENT = pika.BasicProperties(
    delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json"
)


# Confirming each message costs a round trip and a disk sync: about 1,400 msg/s here. A
# transaction per batch is answered once (RabbitMQ sends tx.commit-ok only after every
# persistent message of it is on disk in its durable queue), so "confirmed" still means on disk,
# at several times the rate; a publisher killed mid-batch leaves that batch uncommitted, not half
# stored. Asynchronous confirms would need pika's callback adapter and a second publishing path
# for the same guarantee; see `_send`.
TX_BATCH = 500


def publish(
    url: str,
    queue: str,
    bodies: Iterable[bytes],
    on_confirmed: Callable[[int], None] | None = None,
    period_seconds: float = 0.0,
    queue_type: str | None = None,
) -> int:
    """Publish persistent messages in transactions of TX_BATCH (one each when spaced by
    `period_seconds`); returns how many the broker confirmed. `on_confirmed(count)` is called
    after each commit, so a caller can report progress and knows, if the connection drops,
    exactly how many the broker holds."""
    confirmed, pending = 0, 0
    returned: list[bytes] = []
    batch = 1 if period_seconds > 0 else TX_BATCH
    with channel(url) as ch:
        declare(ch, queue, queue_type)
        ch.add_on_return_callback(lambda _ch, _method, _props, body: returned.append(body))
        ch.tx_select()
        for body in bodies:
            if (confirmed or pending) and period_seconds > 0:
                time.sleep(period_seconds)
            _send(ch, queue, body)
            pending += 1
            if pending == batch:
                confirmed += _commit(ch, pending, returned, queue)
                pending = 0
                if on_confirmed is not None:
                    on_confirmed(confirmed)
        if pending:
            confirmed += _commit(ch, pending, returned, queue)
            if on_confirmed is not None:
                on_confirmed(confirmed)
    return confirmed


def _send(ch, queue: str, body: bytes) -> None:
    # BlockingChannel.basic_publish waits on the socket after every message: a poll per message
    # was most of the publisher's time (bench/publish.py: 8,400 msg/s with it, 14,000 without).
    # The channel it wraps queues the frames, and tx_commit sends them all before it waits for
    # the broker's answer, which is the only answer a transaction has.
    ch._impl.basic_publish("", queue, body, properties=PERSISTENT, mandatory=True)


def _commit(ch, pending: int, returned: list[bytes], queue: str) -> int:
    ch.tx_commit()
    # A message the broker could not route comes back before the commit's answer.
    ch.connection.process_data_events(time_limit=0)
    if returned:
        raise BrokerUnavailable(
            f"the broker could not route {len(returned)} messages to queue {queue!r} "
            "(was it deleted while publishing?)"
        )
    return pending


def drained(ready: int, idle_seconds: float) -> bool:
    """Whether a drain that has received nothing for `idle_seconds` is done: the broker holds no
    ready message, or it has held some without sending them for STALL_SECONDS (the next run
    takes them)."""
    return ready == 0 or idle_seconds >= STALL_SECONDS


def drain(
    url: str,
    queue: str,
    handle_chunk: Callable[[list[bytes]], None],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_messages: int | None = None,
    queue_type: str | None = None,
) -> int:
    """Consume what the queue holds now, in chunks, acking each chunk only after `handle_chunk`.

    `handle_chunk` must make the chunk durable before it returns: the ack that follows tells the
    broker it may forget those messages. Messages published after the drain started are left for
    the next drain (`max_messages` defaults to the depth at the start), so a busy queue cannot
    keep one run going for ever. Returns how many messages were handled and acked.
    """
    handled = 0
    with channel(url) as ch:
        declared = declare(ch, queue, queue_type)
        limit = declared if max_messages is None else max_messages
        if limit == 0:
            return 0
        # Two chunks in flight: the broker sends the next while this one is being stored.
        ch.basic_qos(prefetch_count=min(PREFETCH_CHUNKS * chunk_size, limit))
        bodies: list[bytes] = []
        last_tag = None
        idle = 0.0
        for method, _properties, body in ch.consume(queue, inactivity_timeout=IDLE_SECONDS):
            if method is not None:
                bodies.append(body)
                last_tag = method.delivery_tag
                idle = 0.0
            full = len(bodies) >= chunk_size or handled + len(bodies) >= limit
            if bodies and (full or method is None):
                handle_chunk(bodies)
                ch.basic_ack(delivery_tag=last_tag, multiple=True)
                handled += len(bodies)
                bodies = []
            if handled >= limit:
                break
            if method is None:
                idle += IDLE_SECONDS
                ready = ch.queue_declare(queue, passive=True).method.message_count
                if drained(ready, idle):
                    break
        ch.cancel()
    return handled
