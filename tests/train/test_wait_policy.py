"""The OpenMP wait policy `convwise train` picks from the CPUs, its threads and how busy the machine is."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from convwise.cli import cmd_train
from convwise.cli.cmd_train import busy_cpus, openmp_wait_here, wait_policy


@pytest.mark.parametrize(
    ("cpus", "threads", "busy", "policy"),
    [
        (2, 2, 0.0, "ACTIVE"),  # a quiet machine: spin
        (2, 2, 0.4, "ACTIVE"),  # background noise
        (2, 2, 0.6, "PASSIVE"),  # another process busy on half a core or more: sleep at once
        (2, 1, 1.4, "ACTIVE"),  # one thread beside one busy core
        (2, 4, 0.0, "PASSIVE"),  # oversubscribed by ourselves (e.g. torchrun 2 x 2 threads)
        (64, 16, 48.0, "ACTIVE"),
        (64, 16, 48.6, "PASSIVE"),
    ],
)
def test_wait_policy_by_cpus_threads_and_busy_cpus(cpus, threads, busy, policy):
    assert wait_policy(cpus, threads, busy) == policy


@pytest.mark.parametrize(
    ("busy", "local", "policy"), [(0.1, "1", "ACTIVE"), (1.0, "1", "PASSIVE"), (0.1, "3", "PASSIVE")]
)
def test_the_machine_reading_feeds_the_rule(monkeypatch, busy, local, policy):
    monkeypatch.setattr(cmd_train, "busy_cpus", lambda interval=0.25: busy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("LOCAL_WORLD_SIZE", local)  # 3 local processes x 1 thread > 2 CPUs
    assert openmp_wait_here() == policy


def test_busy_cpus_sees_a_spinning_process():
    cpus = os.cpu_count() or 1
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = busy_cpus(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert (
        0.7 <= busy <= cpus + 1e-9
    )  # the oracle: one process spinning on one core (plus whatever else runs)


def test_an_explicit_policy_in_the_environment_is_kept():
    code = (
        "import os; from convwise.cli.cmd_train import choose_openmp_wait; choose_openmp_wait(); "
        "print(os.environ['OMP_WAIT_POLICY'])"
    )
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "passive"
    env.pop("OMP_WAIT_POLICY")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() in {"ACTIVE", "PASSIVE"}  # chosen (which one depends on the load right now)
