"""RabbitMQ over pika: durable queues, confirmed publishing, queue depth, ack-after-write drain."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress

import pika
import pika.exceptions

from mlops_demo.core.common.choices import QUEUE_TYPES, SettingsError, checked_choice
from mlops_demo.core.common.urls import check_credentials, redact_error, redact_url

DEFAULT_CHUNK_SIZE = 5000
PREFETCH_CHUNKS = 2
# How long a drain waits for one more message before it asks the broker whether the queue is
# empty; and how long it goes on waiting while the broker says messages are ready but sends
# none (a broker paging a deep queue in from disk pauses for seconds).
IDLE_SECONDS = 1.0
STALL_SECONDS = 30.0
# How often a watching sensor asks for the queue's depth: one round trip on an open channel.
WATCH_POLL_SECONDS = 0.1


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


def wait_for_depth(
    url: str,
    queue: str,
    minimum: int,
    seconds: float,
    queue_type: str | None = None,
    poll_seconds: float = WATCH_POLL_SECONDS,
) -> int:
    """Messages ready in the queue, as soon as they reach `minimum` or after `seconds`.

    One connection watches the whole time: a connection per look would be one more in the
    broker's log every `poll_seconds`."""
    deadline = time.monotonic() + seconds
    with channel(url) as ch:
        while True:
            depth = declare(ch, queue, queue_type)
            left = deadline - time.monotonic()
            if depth >= minimum or left <= 0:
                return depth
            ch.connection.sleep(min(poll_seconds, left))


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


# Confirming each message synchronously costs a round trip and a disk sync: about 1,000 msg/s
# here. Asynchronous publisher confirms keep up to CONFIRM_WINDOW messages in flight: RabbitMQ
# acks a persistent message to a durable queue only once it is on disk there, one ack often
# covering many, so "confirmed" still means on disk, at close to the broker's unconfirmed rate
# (bench/publish.py measures it beside a transaction per 500, the method it replaced).
CONFIRM_WINDOW = 8000


class _Confirms:
    """The broker's acks, nacks and returns for one channel in confirm mode, counted as they
    arrive (pika calls these while it reads the socket)."""

    def __init__(self, ch) -> None:
        self.sent = self.acked = self.nacked = self.returned = 0
        # Every delivery tag below `_lowest_open` is settled; above it, those in `_settled`.
        # The broker may answer out of order: nacks for later messages before the ack that
        # covers the earlier ones with `multiple`.
        self._lowest_open, self._settled = 1, set()
        ch._impl.add_on_return_callback(self._on_return)
        ch._impl.confirm_delivery(self._on_ack_or_nack)
        self._ch = ch

    def _on_return(self, *_args) -> None:
        self.returned += 1

    def _on_ack_or_nack(self, frame) -> None:
        method = frame.method
        first = self._lowest_open if method.multiple else method.delivery_tag
        settled = 0
        for tag in range(max(first, self._lowest_open), method.delivery_tag + 1):
            if tag not in self._settled:
                self._settled.add(tag)
                settled += 1
        if isinstance(method, pika.spec.Basic.Nack):
            self.nacked += settled
        else:
            self.acked += settled
        while self._lowest_open in self._settled:
            self._settled.remove(self._lowest_open)
            self._lowest_open += 1

    def send(self, queue: str, body: bytes) -> None:
        # BlockingChannel.basic_publish would wait on the socket after every message, and in
        # confirm mode for each message's ack; the channel it wraps only queues the frames.
        self._ch._impl.basic_publish("", queue, body, properties=PERSISTENT, mandatory=True)
        self.sent += 1

    def confirmed_after_waiting(self, queue: str, outstanding: int) -> int:
        """Read the broker's answers until at most `outstanding` messages await one; returns
        how many it acked. A message it could not route or refused is an error: a message the
        broker returns comes back before its ack."""
        self._ch._flush_output(lambda: self.sent - self.acked - self.nacked <= outstanding)
        failed = []
        if self.returned:
            failed.append(
                f"could not route {self.returned} messages to queue {queue!r} (was it deleted "
                "while publishing?)"
            )
        if self.nacked:
            failed.append(
                f"refused {self.nacked} messages for queue {queue!r} (a length limit with "
                "overflow reject-publish, or a broker error: see its log)"
            )
        if failed:
            raise BrokerUnavailable(f"the broker {' and '.join(failed)}")
        return self.acked


def publish(
    url: str,
    queue: str,
    bodies: Iterable[bytes],
    on_confirmed: Callable[[int], None] | None = None,
    period_seconds: float = 0.0,
    queue_type: str | None = None,
) -> int:
    """Publish persistent messages with up to CONFIRM_WINDOW awaiting the broker's confirm (one
    at a time when spaced by `period_seconds`); returns how many the broker confirmed.
    `on_confirmed(count)` is called each time the count grows, so a caller can report progress
    and knows, if the connection drops, that the broker holds at least that many."""
    window = 0 if period_seconds > 0 else CONFIRM_WINDOW
    reported = 0

    def report(confirmed: int) -> None:
        nonlocal reported
        if on_confirmed is not None and confirmed > reported:
            on_confirmed(confirmed)
        reported = confirmed

    with channel(url) as ch:
        declare(ch, queue, queue_type)
        confirms = _Confirms(ch)
        for body in bodies:
            if confirms.sent and period_seconds > 0:
                time.sleep(period_seconds)
            confirms.send(queue, body)
            if confirms.sent - confirms.acked > window:
                report(confirms.confirmed_after_waiting(queue, window // 2))
        report(confirms.confirmed_after_waiting(queue, 0))
    return reported


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
