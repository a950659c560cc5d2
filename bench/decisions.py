"""The loop's three decisions, each with its error rates, beside the method it replaced, in one run.

    .venv/bin/python bench/decisions.py [--runs 150] [--csv PATH]

- **Drift.** For each scenario of `core/plant/scenarios.py` and each source (the reference data and
  the simulator), `--runs` starting points: the 2,000 readings before are the training
  readings, then three batches of 500 with the fault from the first on. Prints the share of runs
  flagged in the first drifted batch, the share flagged within three, and the median delay in
  batches, for the project's check and for the previous one (a Kolmogorov-Smirnov test at the
  effective sample size and PSI >= 0.2 on each raw column). On `clean`, every alarm is false.
- **Sensor faults as states.** For each source, `--fault-runs` starting points: the 2,000
  readings before are the training readings, then four batches of 500 with the fault and two
  with the sensor repaired, each judged with the fault log the ones before left
  (`core/monitoring/faults.py`). Prints the share of batches the check fails on at the onset,
  while the fault lasts, and after the repair, the share of runs whose repair batch ended the
  fault, the share of batches that noted a shift the model absorbs, and, beside the ongoing
  share, how often the tests alone, without the log, fire on the later faulty batches.
- **The gate.** Windows of 1,000 rows of out-of-sample verdicts on the reference data (the
  forward-chained folds' verdicts), drawn with replacement (the goals') and as contiguous runs:
  a champion and a challenger equal to it, 0.1 F1 worse, and 0.15 F1 better, made by dropping
  caught failures from those verdicts at random. Prints how often each pair is promoted,
  rejected or left waiting, for the paired gate and for the previous rule (promote when the
  challenger's F1 is higher).
- **Decay.** A model trained on the reference data's UDI 1-5000; batches of 500 labelled
  predictions on UDI 5001-10000 (windows every 50 rows), clean and with torque x0.9; and the
  pipeline before the limits, trained through UDI 4000, on UDI 4001-4500, where the
  heat-dissipation failures arrive. Prints the warning rate of the project's batch test and of
  the previous rule (cumulative F1 more than 0.15 below the test F1).
The goals of each decision are printed with met or missed.
"""

import argparse
import sys
from pathlib import Path

import model as pipelines  # bench/model.py: the pipelines it compares
import numpy as np
import pandas as pd
from _common import REFERENCE_CSV

from mlops_demo.core.messages.records import TARGET, TORQUE, TYPE, UDI
from mlops_demo.core.model import evaluation, features, pipeline
from mlops_demo.core.model.spec import Hyperparameters
from mlops_demo.core.monitoring import drift, faults
from mlops_demo.core.monitoring.estimate import estimate
from mlops_demo.core.monitoring.performance import (
    Confusion,
    Expected,
    ModelPerformance,
    decay_verdict,
    expected_of,
)
from mlops_demo.core.plant.scenarios import FAULTS
from mlops_demo.core.plant.simulator import simulate
from mlops_demo.core.registry.gate import PROMOTE, REJECT, decide

REFERENCE_ROWS, BATCH, BATCHES = 2000, 500, 3
THRESHOLDS = drift.DriftThresholds()
DRIFT_GOALS = {"clean": ("at most", 0.01), "heat wave +5 K": ("at least", 0.95),
               "process offset -3 K": ("at least", 0.95), "stuck air sensor": ("at least", 0.95),
               "torque x0.9": ("at least", 0.95), "torque x0.95": ("at least", 0.80)}  # fmt: skip


# Drift ---------------------------------------------------------------------------------------


def previous_drift(reference: pd.DataFrame, newest: pd.DataFrame) -> bool:
    """The check before: per raw column, KS at the effective sample size and PSI >= 0.2."""
    from scipy import stats

    for column in features.FEATURE_COLUMNS:
        if column == TYPE:
            continue
        ref, new = reference[column].to_numpy(float), newest[column].to_numpy(float)
        tau = drift.autocorrelation_time(ref)
        statistic = stats.ks_2samp(ref, new).statistic
        n, m = len(ref) / tau, len(new) / tau
        p_value = stats.kstwobign.sf(statistic * np.sqrt(n * m / (n + m)))
        edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
        shares = [
            np.maximum(np.bincount(np.searchsorted(edges, x, side="right"),
                                   minlength=len(edges) + 1) / len(x), 1e-4)
            for x in (ref, new)
        ]  # fmt: skip
        psi = float(((shares[1] - shares[0]) * np.log(shares[1] / shares[0])).sum())
        if p_value < 0.01 and psi >= 0.2:
            return True
    return False


def project_drift(reference: pd.DataFrame, before: pd.DataFrame, newest: pd.DataFrame) -> bool:
    return any(f.drifted for f in drift.assess(reference, before, newest, THRESHOLDS))


def _alarms(data: pd.DataFrame, start: int, fault, method: str, every: bool) -> list[int]:
    """The drifted batches (1-based) that raise an alarm, up to the first unless `every`."""
    reference = data.iloc[start - REFERENCE_ROWS : start]
    alarms = []
    for k in range(BATCHES):
        first = start + k * BATCH
        batch = fault.apply(data.iloc[first : first + BATCH])
        before = (
            data.iloc[first - 1 : first] if k == 0 else fault.apply(data.iloc[first - 1 : first])
        )
        flagged = (
            project_drift(reference, before, batch)
            if method == "project"
            else previous_drift(reference, batch)
        )
        if flagged:
            alarms.append(k + 1)
            if not every:
                break
    return alarms


def drift_table(sources: dict[str, pd.DataFrame], runs: int) -> list[str]:
    print("\nDrift: share of runs flagged in the first drifted batch / within three / median delay"
          "\n(clean: the share of batches flagged, every one a false alarm)")  # fmt: skip
    print(f"{'source':<10} {'scenario':<26} {'project':>20} {'previous check':>20}")
    missed = []
    for source, data in sources.items():
        starts = np.linspace(REFERENCE_ROWS, len(data) - BATCHES * BATCH, runs).astype(int)
        for name, fault in FAULTS.items():
            cells = []
            for method in ("project", "previous"):
                # On clean batches every alarm is false: each of the three batches counts.
                alarms = [_alarms(data, int(s), fault, method, name == "clean") for s in starts]
                if name == "clean":
                    rate = sum(map(len, alarms)) / (len(alarms) * BATCHES)
                    cells.append(f"{rate:.3f} of batches")
                else:
                    first = np.mean([a[:1] == [1] for a in alarms])
                    within = np.mean([bool(a) for a in alarms])
                    found = [a[0] for a in alarms if a]
                    median = f"{np.median(found):.0f}" if found else "-"
                    cells.append(f"{first:.2f} / {within:.2f} / {median:>2}")
                    rate = first
                if method == "project" and name in DRIFT_GOALS:
                    bound, target = DRIFT_GOALS[name]
                    if (rate > target) if bound == "at most" else (rate < target):
                        missed.append(f"drift {source} {name}: {rate:.2f}, goal {bound} {target}")
            print(f"{source:<10} {name:<26} {cells[0]:>20} {cells[1]:>20}")
    return missed


# Sensor faults as states ------------------------------------------------------------------------

FAULTY, REPAIRED = 4, 2
STATE_SCENARIOS = ("clean", "heat wave +5 K", "process offset -3 K", "stuck air sensor",
                   "torque x0.9", "torque x0.95")  # fmt: skip


def _followed(data: pd.DataFrame, start: int, fault) -> list[tuple[faults.Followed, bool]]:
    """FAULTY batches with the fault from the first reading on, then REPAIRED clean ones, each
    judged with the fault log the batches before it left; and whether any test fired on the
    batch by itself, without the log."""
    span = data.iloc[start : start + (FAULTY + REPAIRED) * BATCH]
    span = pd.concat([fault.apply(span.iloc[: FAULTY * BATCH]), span.iloc[FAULTY * BATCH :]])
    reference, before = data.iloc[start - REFERENCE_ROWS : start], data.iloc[start - 1 : start]
    log, followed = [], []
    for k in range(FAULTY + REPAIRED):
        batch = span.iloc[k * BATCH : (k + 1) * BATCH]
        findings = drift.assess(reference, before, batch, THRESHOLDS)
        followed.append((faults.follow(log, findings, batch[UDI].to_numpy()),
                         any(f.drifted for f in findings)))  # fmt: skip
        log, before = list(followed[-1][0].log), batch.iloc[-1:]
    return followed


def fault_state_table(sources: dict[str, pd.DataFrame], runs: int) -> list[str]:
    print(f"\nSensor faults as states: {FAULTY} batches with the fault, then {REPAIRED} repaired;"
          "\nthe share of batches the check fails on (an open fault, or a change that is none):"
          "\nthe first, the other faulty ones, the repaired ones, and every batch; alone: the other"
          "\nfaulty ones on which any test fires by itself, without the log; ended: the"
          "\nshare of runs whose first repaired batch ended the fault; noted: batches noting a"
          "\nshift the model absorbs. On clean and the heat wave, every failure is false"
          )  # fmt: skip
    print(f"{'source':<10} {'scenario':<22} {'onset':>6} {'ongoing':>8} {'alone':>6} "
          f"{'ended':>6} {'after':>6} {'every':>6} {'noted':>6}")  # fmt: skip
    missed = []
    for source, data in sources.items():
        span = (FAULTY + REPAIRED) * BATCH
        starts = np.linspace(REFERENCE_ROWS, len(data) - span, runs).astype(int)
        for name in STATE_SCENARIOS:
            judged = [_followed(data, int(start), FAULTS[name]) for start in starts]
            played = [[followed for followed, _ in run] for run in judged]
            alone = np.mean([[fired for _, fired in run[1:FAULTY]] for run in judged])
            fails = np.array([[bool(f.open or f.changes) for f in run] for run in played])
            noted = np.mean([[bool(f.absorbed) for f in run] for run in played])
            onset, ongoing = fails[:, 0].mean(), fails[:, 1:FAULTY].mean()
            ended = np.mean([bool(run[FAULTY].ended) for run in played])
            after, every = fails[:, FAULTY:].mean(), fails.mean()
            print(f"{source:<10} {name:<22} {onset:>6.3f} {ongoing:>8.3f} {alone:>6.3f} "
                  f"{ended:>6.2f} {after:>6.3f} {every:>6.3f} {noted:>6.2f}")  # fmt: skip
            if name in ("clean", "heat wave +5 K") and fails.mean() > 0.01:
                missed.append(f"faults {source} {name}: fails on {fails.mean():.3f}, goal <= 0.01")
            elif name not in ("clean", "heat wave +5 K") and ongoing < 0.95:
                missed.append(f"faults {source} {name}: ongoing {ongoing:.2f}, goal >= 0.95")
    return missed


# The gate ------------------------------------------------------------------------------------


def _drop_caught(verdicts: np.ndarray, failed: np.ndarray, keep: float, seed: int) -> np.ndarray:
    """The verdicts with exactly (1 - keep) of their caught failures, chosen at random, missed:
    two calls with the same `keep` give models of exactly the same F1 over all rows."""
    caught = np.flatnonzero(failed & verdicts)
    dropped = np.random.default_rng(seed).permutation(caught)[: round((1 - keep) * len(caught))]
    out = verdicts.copy()
    out[dropped] = False
    return out


def _f1(failed: np.ndarray, verdicts: np.ndarray) -> float:
    caught = int((failed & verdicts).sum())
    return 2 * caught / max(int(failed.sum()) + int(verdicts.sum()), 1)


def _gate_rates(
    failed: np.ndarray, new: np.ndarray, old: np.ndarray, windows: list[np.ndarray]
) -> tuple[dict[str, float], float]:
    """The share of windows the paired gate promotes and rejects, and the share the previous
    rule (promote when the F1 is higher) promoted."""
    outcomes = [decide(failed[w], new[w], old[w], 0.0, 10).outcome for w in windows]
    previous = np.mean([_f1(failed[w], new[w]) > _f1(failed[w], old[w]) for w in windows])
    return {o: float(np.mean([x == o for x in outcomes])) for o in (PROMOTE, REJECT)}, previous


def gate_table(verdicts: np.ndarray, failed: np.ndarray, windows: int) -> list[str]:
    recall = _f1(failed, verdicts) / (2 - _f1(failed, verdicts))  # precision 1: F1 = 2R/(1+R)

    def keep_for(f1_drop: float) -> float:
        target = _f1(failed, verdicts) - f1_drop
        return (target / (2 - target)) / recall

    pairs = {
        "equal": (_drop_caught(verdicts, failed, 0.9, 1), _drop_caught(verdicts, failed, 0.9, 2)),
        "0.1 F1 worse": (_drop_caught(verdicts, failed, keep_for(0.1), 3), verdicts),
        "0.15 F1 better": (verdicts, _drop_caught(verdicts, failed, keep_for(0.15), 4)),
    }
    goals = {"equal": (PROMOTE, "at most", 0.05), "0.1 F1 worse": (PROMOTE, "at most", 0.02),
             "0.15 F1 better": (PROMOTE, "at least", 0.80)}  # fmt: skip
    rng = np.random.default_rng(0)
    resampled = [rng.integers(0, len(failed), size=1000) for _ in range(windows)]
    contiguous = [np.arange(s, s + 1000) for s in rng.integers(0, len(failed) - 1000, windows)]
    print(f"\nThe gate: {windows} windows of 1,000 rows of out-of-sample verdicts, resampled "
          "(the goals) and contiguous (failures come in clusters)")  # fmt: skip
    print(f"{'challenger':<16} {'F1 diff, all rows':>17} {'promote':>8} {'reject':>7} "
          f"{'wait':>6} {'previous: promote':>18} {'contiguous: promote':>20}")  # fmt: skip
    missed = []
    for name, (new, old) in pairs.items():
        share, previous = _gate_rates(failed, new, old, resampled)
        in_order, _ = _gate_rates(failed, new, old, contiguous)
        wait = 1 - share[PROMOTE] - share[REJECT]
        print(f"{name:<16} {_f1(failed, new) - _f1(failed, old):>+17.3f} {share[PROMOTE]:>8.2f} "
              f"{share[REJECT]:>7.2f} {wait:>6.2f} {previous:>18.2f} "
              f"{in_order[PROMOTE]:>20.2f}")  # fmt: skip
        outcome, bound, target = goals[name]
        rate = share[outcome]
        if (rate > target) if bound == "at most" else (rate < target):
            missed.append(f"gate {name}: promoted {rate:.2f}, goal {bound} {target}")
    in_resampled = np.median([failed[w].sum() for w in resampled])
    in_order = [int(failed[w].sum()) for w in contiguous]
    print(f"failures per window: resampled median {in_resampled:.0f}, contiguous median "
          f"{np.median(in_order):.0f} (from {min(in_order)} to {max(in_order)})")  # fmt: skip
    return missed


# Decay ---------------------------------------------------------------------------------------


def _performance(failed: np.ndarray, flagged: np.ndarray) -> ModelPerformance:
    batch = Confusion(
        caught=int((failed & flagged).sum()),
        missed=int((failed & ~flagged).sum()),
        false_alarms=int((~failed & flagged).sum()),
        quiet=int((~failed & ~flagged).sum()),
    )
    # The decay test reads the counts, not the morning's estimate.
    no_estimate = estimate(np.empty(0), np.empty(0, dtype=bool))
    return ModelPerformance("m", None, batch.labelled, 0, batch, batch, None, {}, {}, no_estimate)


def _warnings(model, expected: Expected, test_f1: float, batches: list[pd.DataFrame]):
    project, previous = [], []
    for batch in batches:
        failed = batch[TARGET].to_numpy(dtype=bool)
        flagged = model.predict(batch[list(features.FEATURE_COLUMNS)]).astype(bool)
        performance = _performance(failed, flagged)
        project.append(not decay_verdict(performance, expected, 200, 0.01).passed)
        realized = performance.cumulative.f1
        previous.append(realized is not None and test_f1 - realized > 0.15)
    return np.mean(project), np.mean(previous)


def _trained(data: pd.DataFrame, through: int, build) -> tuple[object, Expected, float]:
    train = data[data["UDI"] <= through]
    model = build().fit(train[list(features.FEATURE_COLUMNS)], train[TARGET])
    report = evaluation.forward_chained(train, build, 7)
    return model, expected_of(report, [[0, 0], [0, 0]]), report["pooled"]["f1"]


def decay_table(data: pd.DataFrame) -> list[str]:
    print("\nDecay: share of labelled batches of 500 that warn")
    print(f"{'model and batches':<58} {'project':>8} {'previous rule':>14}")
    model, expected, test_f1 = _trained(data, 5000, pipelines.project)
    later = data[data["UDI"] > 5000].reset_index(drop=True)
    windows = [later.iloc[s : s + BATCH] for s in range(0, len(later) - BATCH + 1, 50)]
    torque = [w.assign(**{TORQUE: (w[TORQUE] * 0.9).round(1)}) for w in windows]
    clean = _warnings(model, expected, test_f1, windows)
    biased = _warnings(model, expected, test_f1, torque)
    print(f"{'project pipeline, UDI 5001-10000, clean':<58} {clean[0]:>8.2f} {clean[1]:>14.2f}")
    print(f"{'project pipeline, UDI 5001-10000, torque x0.9':<58} {biased[0]:>8.2f} "
          f"{biased[1]:>14.2f}")  # fmt: skip
    heat = data[(data["UDI"] > 4000) & (data["UDI"] <= 4500)]
    for name, build in (
        ("project pipeline", pipelines.project),
        ("pipeline before the limits", pipelines.before_limits),
    ):
        model, expected, test_f1 = _trained(data, 4000, build)
        first = _warnings(model, expected, test_f1, [heat])
        flagged = model.predict(heat[list(features.FEATURE_COLUMNS)]).astype(bool)
        caught = int((heat[TARGET].to_numpy(dtype=bool) & flagged).sum())
        label = f"{name}, UDI 4001-4500 (heat dissipation; caught {caught}/{heat[TARGET].sum()})"
        print(f"{label:<58} {first[0]:>8.2f} {first[1]:>14.2f}")
    missed = []
    if clean[0] > 0.01:
        missed.append(f"decay clean: {clean[0]:.2f} false warnings, goal at most 0.01")
    if biased[0] < 0.95:
        missed.append(f"decay torque x0.9: {biased[0]:.2f} warned, goal within one batch")
    return missed


# Refusal -------------------------------------------------------------------------------------


def refusal_table(data: pd.DataFrame) -> list[str]:
    """The refused-share check (more than 5 % of a scoring refused) on batches of 500 after the
    training readings UDI 1-3000, windows every 50 rows, clean and with each fault."""
    signature = features.input_signature(data[data["UDI"] <= 3000])
    later = data[data["UDI"] > 3000].reset_index(drop=True)
    windows = [later.iloc[s : s + BATCH] for s in range(0, len(later) - BATCH + 1, 50)]
    far = {
        "torque x4 (far outside the trained range)": lambda b: b.assign(**{TORQUE: b[TORQUE] * 4})
    }
    faults = {name: fault.apply for name, fault in FAULTS.items()} | far
    print(f"\nRefusal: {len(windows)} batches of 500 after training on UDI 1-3000; the share of "
          "batches whose refused share is over 5 %, and the mean refused share")  # fmt: skip
    missed = []
    for name, apply in faults.items():
        shares = [
            float((features.outside_signature(apply(w), signature) != "").mean()) for w in windows
        ]
        warned = np.mean([share > 0.05 for share in shares])
        print(f"  {name:<44} warned {warned:.2f}, refused {np.mean(shares):.3f}")
        if name == "clean" and warned > 0.01:
            missed.append(f"refusal clean: warned on {warned:.2f} of batches, goal at most 0.01")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--fault-runs", type=int, default=100)
    parser.add_argument("--csv", type=Path, default=REFERENCE_CSV)
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"{args.csv} is absent: the gate and decay need the reference data")
        return 1
    real = pd.read_csv(args.csv, encoding="utf-8-sig")
    sources = {"reference": real, "simulator": pd.DataFrame(simulate(40_000))}
    missed = drift_table(sources, args.runs)
    missed += fault_state_table(sources, args.fault_runs)
    verdicts, failed = _out_of_sample(real)
    missed += gate_table(verdicts, failed, args.runs)
    missed += decay_table(real)
    missed += refusal_table(real)
    print("\nGoals: " + ("every one met" if not missed else "MISSED: " + "; ".join(missed)))
    return 0


def _out_of_sample(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The forward-chained folds' verdicts on UDI 3001-10000, in time order."""
    verdicts, failed = [], []
    for cut in range(3000, len(data), 1000):
        train, test = data.iloc[:cut], data.iloc[cut : cut + 1000]
        model = pipeline.build_pipeline(Hyperparameters()).fit(
            train[list(features.FEATURE_COLUMNS)], train[TARGET]
        )
        verdicts.append(model.predict(test[list(features.FEATURE_COLUMNS)]).astype(bool))
        failed.append(test[TARGET].to_numpy(dtype=bool))
    return np.concatenate(verdicts), np.concatenate(failed)


if __name__ == "__main__":
    sys.exit(main())
