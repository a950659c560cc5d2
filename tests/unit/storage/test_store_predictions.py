"""The prediction log in a JSONL file: each (UDI, model) once, durable, safe to replay. The tests
taking `log` run on PostgreSQL too (tests/integration/storage/test_predictions_postgres.py)."""

import json

import pytest

from mlops_demo.core.storage.predictions import JsonlPredictionLog


def _prediction(udi: int, model: str, probability: float = 0.25) -> dict:
    return {
        "UDI": udi,
        "model": model,
        "failure_probability": probability,
        "at_risk": probability >= 0.5,
        "predicted_at": "2026-11-27T08:00:00.000+00:00",
    }


@pytest.fixture
def log(tmp_path):
    return JsonlPredictionLog(tmp_path / "predictions.jsonl")


def test_each_udi_and_model_is_stored_once_and_a_replay_stores_nothing(log):
    batch = [_prediction(1, "a"), _prediction(2, "a"), _prediction(1, "b", 0.75)]
    assert log.append(batch) == 3
    assert log.append(batch) == 0
    assert log.append([_prediction(2, "a", 0.9), _prediction(3, "a")]) == 1
    frame = log.read_frame().sort_values(["UDI", "model"]).reset_index(drop=True)
    assert list(zip(frame["UDI"], frame["model"], strict=True)) == [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (3, "a"),
    ]
    # The first verdict for (2, "a") is the one kept.
    assert frame.loc[2, "failure_probability"] == 0.25
    assert frame.loc[1, "at_risk"]


def test_a_torn_last_line_is_cut_before_the_next_append(tmp_path):
    log = JsonlPredictionLog(tmp_path / "predictions.jsonl")
    log.append([_prediction(1, "a")])
    with open(log.path, "ab") as f:
        f.write(b'{"UDI": 2, "model": "a", "failure_proba')
    assert len(log.read_frame()) == 1
    assert log.append([_prediction(2, "a")]) == 1
    assert sorted(log.read_frame()["UDI"]) == [1, 2]


def test_a_log_written_before_the_compact_lines_still_stores_each_key_once(tmp_path):
    log = JsonlPredictionLog(tmp_path / "predictions.jsonl")
    old = _prediction(7, "a")
    log.path.write_text(json.dumps(old) + "\n")  # the spaced form earlier versions wrote
    assert log.append([_prediction(7, "a", 0.9), _prediction(8, "a")]) == 1
    frame = log.read_frame()
    assert frame["UDI"].tolist() == [7, 8] and frame.loc[0, "failure_probability"] == 0.25
    assert log.path.read_text().splitlines()[1].startswith('{"UDI":8,"model":"a",')
