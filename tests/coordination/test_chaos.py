"""Three replica processes on one PostgreSQL or Redis repo, SIGKILLed and SIGSTOPped at random.

A short, bounded run of tests/integration/replica_chaos.py (the long one with its figures is
bench/replica_failover.py). Afterwards, from the repo alone: no decision ran twice, the longest
gap of the every-second task stays within the failover bound plus one second, every run has
exactly one end (the killed and paused ones ``crash``), and the daily task ran once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.replica_chaos import analyse, run_chaos

pytestmark = pytest.mark.slow

LEASE_S = 1.5
POLL_S = LEASE_S / 3
#: death (or pause) -> the lease runs out -> the next poll of a standby takes it -> the
#: restore and the first launch (2 s: a loaded 2-core CI machine; bench/REPLICAS.md measures it)
FAILOVER_BOUND_S = LEASE_S + POLL_S + 2.0


def test_three_replicas_killed_and_paused_run_each_decision_once(url: str, tmp_path: Path) -> None:
    chaos = run_chaos(
        url,
        tmp_path,
        seconds=10.0,
        lease_s=LEASE_S,
        kinds=("kill", "stop"),
        replace=False,
        fork=True,
    )
    result = analyse(chaos)
    assert {kind for kind, _, _ in chaos.events} == {"kill", "stop"}, chaos.events
    assert len(chaos.takeovers) == len(chaos.events), chaos
    assert result["runs"]["report"] == 1  # daily, across every replica
    # every-second task: a decision made twice would leave two runs < 1 s apart
    assert result["tick_min_gap"] >= 0.99, result
    assert result["slow_min_gap"] >= 0.99, result
    assert result["tick_max_gap"] <= FAILOVER_BOUND_S + 1.0, result
    assert result["open"] == [], result
    assert result["ended_twice"] == [], result
    # load follows extract's successes (after_success seen across replicas), never more often
    assert result["runs"]["load"] <= result["extract_ok"], result
