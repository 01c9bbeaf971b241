"""The OpenMP wait policy `convwise train` picks from the CPUs, its threads and the load it starts beside."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from convwise.cli.cmd_train import wait_policy


@pytest.mark.parametrize(
    ("cpus", "threads", "load", "policy"),
    [
        (2, 2, 0.0, "ACTIVE"),  # a quiet machine: spin
        (2, 2, 0.9, "ACTIVE"),  # the tail of an earlier job in the 1-minute average
        (2, 2, 1.2, "PASSIVE"),  # another busy process: sleep at once
        (2, 1, 1.9, "ACTIVE"),  # one thread beside one busy core
        (2, 4, 0.0, "PASSIVE"),  # oversubscribed by ourselves (e.g. torchrun 2 x 2 threads)
        (64, 16, 40.0, "ACTIVE"),
        (64, 16, 49.5, "PASSIVE"),
    ],
)
def test_wait_policy_by_cpus_threads_and_load(cpus, threads, load, policy):
    assert wait_policy(cpus, threads, load) == policy


def _policy_seen_by_a_fresh_process(env: dict[str, str]) -> str:
    code = (
        "import os; from convwise.cli.cmd_train import choose_openmp_wait; choose_openmp_wait(); "
        "print(os.environ.get('OMP_WAIT_POLICY', '<unset>'))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_an_explicit_policy_in_the_environment_is_kept():
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    assert _policy_seen_by_a_fresh_process(env) == "passive"


def test_a_fresh_process_gets_the_policy_for_this_machine_now():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "LOCAL_WORLD_SIZE")}
    cpus = len(os.sched_getaffinity(0))
    before = os.getloadavg()[0]
    got = _policy_seen_by_a_fresh_process(env)
    after = os.getloadavg()[0]
    # The oracle: the rule applied to the load read just before and just after (it may move in between).
    assert got in {wait_policy(cpus, cpus, before), wait_policy(cpus, cpus, after)}
