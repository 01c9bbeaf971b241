"""Ctrl-C / SIGTERM during a checkpoint write is held until the write is complete, then stops the run."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from convwise.train.checkpoint import atomic_save, deferred_interrupts


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_inside_block_is_raised_after_it(sig: int) -> None:
    finished = []
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with pytest.raises(KeyboardInterrupt), deferred_interrupts():
            os.kill(os.getpid(), sig)
            finished.append(True)  # the block runs to its end first
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert finished == [True]


def test_handlers_are_restored_and_no_signal_means_no_interrupt(tmp_path) -> None:
    before = signal.getsignal(signal.SIGINT)
    with deferred_interrupts():
        pass
    assert signal.getsignal(signal.SIGINT) is before


def test_interrupt_during_save_leaves_a_complete_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ckpt.pt"
    real_save = torch.save

    def save_and_get_interrupted(obj, fh):  # the signal lands in the middle of torch.save
        os.kill(os.getpid(), signal.SIGINT)
        real_save(obj, fh)

    monkeypatch.setattr(torch, "save", save_and_get_interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"w": torch.arange(5)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(5))
