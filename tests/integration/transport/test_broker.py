"""Broker helpers on the real RabbitMQ: confirmed publishing, depth, ack-after-write drain."""

import subprocess
import time

import pytest

from mlops_demo.core.transport import broker

pytestmark = pytest.mark.broker


def test_published_messages_arrive_exactly_and_in_order(broker_url, queues):
    queue = queues["readings"]
    bodies = [f'{{"n": {i}}}'.encode() for i in range(1200)]
    assert broker.publish(broker_url, queue, bodies) == 1200
    assert broker.queue_depth(broker_url, queue) == 1200
    received: list[bytes] = []
    assert broker.drain(broker_url, queue, received.extend, chunk_size=500) == 1200
    assert received == bodies
    assert broker.queue_depth(broker_url, queue) == 0


def test_publishing_reports_each_growth_of_the_confirmed_count(broker_url, queues):
    queue = queues["readings"]
    reported: list[int] = []
    total = 3 * broker.CONFIRM_WINDOW + 7
    bodies = [b"%d" % i for i in range(total)]
    assert broker.publish(broker_url, queue, bodies, on_confirmed=reported.append) == total
    # Reported while publishing (at most a window unconfirmed), not only at the end.
    assert len(reported) >= 3 and reported == sorted(set(reported)) and reported[-1] == total
    assert reported[0] >= total - 3 * broker.CONFIRM_WINDOW
    assert broker.queue_depth(broker_url, queue) == total


def test_spaced_messages_are_confirmed_one_at_a_time(broker_url, queues):
    reported: list[int] = []
    bodies = [b"%d" % i for i in range(5)]
    confirmed = broker.publish(
        broker_url, queues["readings"], bodies, on_confirmed=reported.append, period_seconds=0.01
    )
    assert confirmed == 5 and reported == [1, 2, 3, 4, 5]


def test_a_queue_deleted_while_publishing_fails_clearly_after_the_last_confirmed_count(
    broker_url, queues
):
    queue = queues["readings"]
    reported: list[int] = []

    def delete_at_the_first_report(count: int) -> None:
        reported.append(count)
        if len(reported) == 1:
            broker.delete_queue(broker_url, queue)

    bodies = [b"%d" % i for i in range(4 * broker.CONFIRM_WINDOW)]
    deleted = r"could not route \d+ messages to queue .* deleted"
    with pytest.raises(broker.BrokerUnavailable, match=deleted):
        broker.publish(broker_url, queue, bodies, on_confirmed=delete_at_the_first_report)
    assert 0 < reported[0] < len(bodies)


def test_messages_the_broker_refuses_fail_the_publish_after_the_ones_it_took(broker_url, queues):
    # A policy, not queue arguments: the queue keeps the arguments every publisher declares.
    queue = queues["readings"]
    policy = f"test_max_length_{queue}"
    subprocess.run(
        ["rabbitmqctl", "-q", "set_policy", policy, f"^{queue}$",
         '{"max-length": 3, "overflow": "reject-publish"}', "--apply-to", "queues"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        broker.queue_depth(broker_url, queue)
        deadline = time.monotonic() + 10
        while not _policy_applies(queue, policy):
            assert time.monotonic() < deadline, "the broker never applied the policy"
            time.sleep(0.2)
        with pytest.raises(broker.BrokerUnavailable, match="refused 7 messages for queue"):
            broker.publish(broker_url, queue, [b"%d" % i for i in range(10)])
        assert broker.queue_depth(broker_url, queue) == 3
    finally:
        subprocess.run(["rabbitmqctl", "-q", "clear_policy", policy], capture_output=True)


def _policy_applies(queue: str, policy: str) -> bool:
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "policy"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return any(line.split("\t") == [queue, policy] for line in listing.stdout.splitlines())


def test_a_chunk_whose_write_fails_is_not_acked(broker_url, queues):
    queue = queues["readings"]
    broker.publish(broker_url, queue, [b"%d" % i for i in range(300)])
    kept: list[bytes] = []

    def fail_on_second_chunk(chunk: list[bytes]) -> None:
        if kept:
            raise OSError("disk full")
        kept.extend(chunk)

    with pytest.raises(OSError, match="disk full"):
        broker.drain(broker_url, queue, fail_on_second_chunk, chunk_size=100)
    # The first chunk was written and acked; the failed one and the rest are redelivered.
    assert broker.queue_depth(broker_url, queue) == 200
    again: list[bytes] = []
    broker.drain(broker_url, queue, again.extend)
    assert sorted(kept + again, key=int) == [b"%d" % i for i in range(300)]


def test_a_drain_takes_only_what_was_queued_when_it_started(broker_url, queues):
    queue = queues["readings"]
    broker.publish(broker_url, queue, [b"a"] * 10)
    seen: list[bytes] = []

    def publish_more_while_draining(chunk: list[bytes]) -> None:
        seen.extend(chunk)
        broker.publish(broker_url, queue, [b"b"] * 5)

    assert broker.drain(broker_url, queue, publish_more_while_draining, chunk_size=4) == 10
    assert broker.queue_depth(broker_url, queue) > 0


def test_an_empty_queue_drains_nothing(broker_url, queues):
    assert broker.drain(broker_url, queues["readings"], lambda chunk: None) == 0


def test_purge_empties_the_queue(broker_url, queues):
    broker.publish(broker_url, queues["statuses"], [b"x"] * 7)
    assert broker.purge(broker_url, queues["statuses"]) == 7
    assert broker.queue_depth(broker_url, queues["statuses"]) == 0


def test_an_unreachable_broker_is_one_clear_error_without_the_password():
    with pytest.raises(broker.BrokerUnavailable) as caught:
        broker.queue_depth("amqp://guest:s3cret@127.0.0.1:1/%2F", "q")
    message = str(caught.value)
    assert "cannot reach the RabbitMQ broker at amqp://guest:***@127.0.0.1:1/%2F" in message
    assert "Connection refused" in message and "s3cret" not in message


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_both_queue_types_publish_count_and_drain_alike(
    broker_url, queues, monkeypatch, queue_type
):
    queue = queues["readings"]
    bodies = [b"%d" % i for i in range(2 * broker.CONFIRM_WINDOW + 3)]
    assert broker.publish(broker_url, queue, bodies, queue_type=queue_type) == len(bodies)
    assert broker.queue_depth(broker_url, queue, queue_type) == len(bodies)
    received: list[bytes] = []
    drained = broker.drain(broker_url, queue, received.extend, 2000, queue_type=queue_type)
    assert drained == len(bodies)
    assert received == bodies
    # The queue has the type asked for: the broker refuses it as the other one.
    other = "classic" if queue_type == "quorum" else "quorum"
    with pytest.raises(broker.QueueTypeMismatch, match=f"exists as a {queue_type} queue"):
        broker.queue_depth(broker_url, queue, other)


@pytest.mark.parametrize(("existing", "asked"), [("classic", "quorum"), ("quorum", "classic")])
def test_a_queue_of_the_other_type_is_refused_naming_the_setting_and_the_fix(
    broker_url, queues, monkeypatch, existing, asked
):
    queue = queues["statuses"]
    broker.publish(broker_url, queue, [b"kept"], queue_type=existing)
    for use in (
        lambda: broker.publish(broker_url, queue, [b"x"], queue_type=asked),
        lambda: broker.drain(broker_url, queue, lambda chunk: None, queue_type=asked),
        lambda: broker.purge(broker_url, queue, asked),
    ):
        with pytest.raises(broker.QueueTypeMismatch) as refused:
            use()
        assert str(refused.value) == (
            f"queue {queue!r} exists as a {existing} queue, but MLOPS_QUEUE_TYPE asks for "
            f"{asked}; a queue cannot change its type. Set MLOPS_QUEUE_TYPE={existing} to keep "
            f"it, or let it drain and delete it (rabbitmqctl delete_queue {queue}) to have it "
            f"declared as {asked}"
        )
    assert broker.queue_depth(broker_url, queue, existing) == 1  # nothing lost, nothing added


def test_an_unknown_queue_type_is_a_settings_error(broker_url, queues, monkeypatch):
    with pytest.raises(broker.SettingsError, match="MLOPS_QUEUE_TYPE must be one of classic"):
        broker.queue_depth(broker_url, queues["readings"], "stream")


@pytest.mark.parametrize(
    "url",
    ["amqp://guest:guest@127.0.0.1:notaport/%2F", "amqp://guest:guest@127.0.0.1/%2F?heartbeat=x"],
)
def test_a_broker_url_pika_cannot_read_is_a_clear_refusal_not_a_crash(url):
    with pytest.raises(broker.BrokerUnavailable, match="cannot be read") as refused:
        broker.queue_depth(url, "never_declared")
    assert "guest:guest" not in str(refused.value)


def test_a_password_holding_an_unencoded_at_is_refused_before_any_lookup():
    with pytest.raises(broker.BrokerUnavailable, match="percent-encode it") as refused:
        broker.queue_depth("amqp://u:hunter2@Secret/x@127.0.0.1:5672/%2F", "never_declared")
    assert "hunter2" not in str(refused.value) and "Secret" not in str(refused.value)


def test_an_idle_second_ends_a_drain_only_when_the_broker_holds_nothing_ready():
    assert broker.drained(ready=0, idle_seconds=broker.IDLE_SECONDS)
    assert not broker.drained(ready=990_000, idle_seconds=broker.IDLE_SECONDS)
    assert not broker.drained(ready=1, idle_seconds=broker.STALL_SECONDS - 1)
    assert broker.drained(ready=1, idle_seconds=broker.STALL_SECONDS)
