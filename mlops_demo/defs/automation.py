"""When things run by themselves: the automation conditions, the declared automation sensor, and
what every sensor shares (its interval, the run statuses that count as in flight)."""

import dagster as dg

_condition = dg.AutomationCondition
# Dagster's eager(), except that only a request handles an update. eager() also counts a run that
# finishes, so an update made while the asset was running (a deployment during a devices_at_risk
# run) would be taken as handled by a run that started before it. And the updates' `since` has a
# single trigger and a single reset, because only then does Dagster compare their timestamps when
# both fire in one tick (`|` and `&` drop them): an update made after a request but before the
# next tick gets a run of its own instead of being taken as handled by that request.
_REQUESTED = _condition.newly_requested()
_UPDATES = _condition.any_deps_match(_condition.newly_updated())


def _after(updates: dg.AutomationCondition) -> dg.AutomationCondition:
    return (
        (_condition.newly_missing().since(_REQUESTED | _condition.initial_evaluation()) | updates)
        & ~_condition.any_deps_missing()
        & ~_condition.any_deps_in_progress()
        & ~_condition.in_progress()
    )


AFTER_EVERY_UPDATE = _after(_UPDATES.since(_REQUESTED)).with_label("after every update")
# ... and never while a blocking check of an input failed: a model that fails its F1 floor never
# becomes a candidate on its own.
AFTER_PASSING_CHECKS = AFTER_EVERY_UPDATE & _condition.all_deps_blocking_checks_passed()
# devices_at_risk's, which tags every run that scores with this key: the deploy_model job scores
# in the deployment's own run, so a deployment whose run carries the tag is handled there. Only the
# deployment's updates are judged by their run, and apart from the others: whether the latest
# deployment was scored in its run says nothing about readings that arrived meanwhile.
SCORED_WITH_TAG = "mlops_demo/scored_with_model"
_DEPLOYMENT = dg.AssetSelection.assets("deployed_model")
_SCORED_IN_ITS_RUN = _condition.executed_with_tags(tag_keys={SCORED_WITH_TAG})
AFTER_EVERY_UPDATE_NOT_SCORED_IN_ITS_RUN = (
    _after(
        _UPDATES.ignore(_DEPLOYMENT).since(_REQUESTED)
        | (
            _UPDATES.allow(_DEPLOYMENT).since(_REQUESTED)
            & ~_condition.any_deps_match(_SCORED_IN_ITS_RUN).allow(_DEPLOYMENT)
        )
    ).with_label("after every update not scored in its own run")
    & _condition.all_deps_blocking_checks_passed()
)

# Dagster's sensor daemon wakes every 5 s (MIN_INTERVAL_LOOP_TIME, not a setting).
DAEMON_LOOP_SECONDS = 5

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def daemon_interval(seconds: int) -> int:
    """The minimum_interval_seconds that makes a sensor tick every `seconds`.

    Dagster's sensor daemon wakes every 5 s and skips a sensor whose last tick began less than its
    minimum interval ago; the last tick began a few milliseconds into the previous wake-up, so a
    5 s minimum is often "not yet" and the sensor ticks every 10 s instead. One second less
    makes it tick at every wake-up (measured: ticks 5 s apart instead of alternating 5 and 10).
    """
    return max(1, seconds - 1)


# Dagster's own name for it, so that declaring it replaces the one Dagster would add.
DEFAULT_AUTOMATION_SENSOR = "default_automation_condition_sensor"


def default_automation_condition_sensor(interval_seconds: int) -> dg.SensorDefinition:
    """Dagster's automatic automation sensor starts stopped and ticks every 30 s; this one runs
    from the start and ticks with the others, so candidates and devices at risk follow their
    inputs promptly."""
    return dg.AutomationConditionSensorDefinition(
        DEFAULT_AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=daemon_interval(interval_seconds),
    )


# An automatic action's run names the finding that caused it, readable in the UI; a tag is no
# place for a paragraph.
FINDING_TAG = "mlops_demo/finding"
FINDING_TAG_CHARS = 500


def finding_tag(finding: str) -> dict[str, str]:
    return {FINDING_TAG: finding[:FINDING_TAG_CHARS]}
