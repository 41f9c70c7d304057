"""The GPU benchmark's CPU smoke run: it builds, renders through both paths and prints its table."""

from __future__ import annotations

import pytest

from tests.bench.generation import WAN_VACE_1_3B, forward_flops, main, step_flops, tokens


def test_flops_estimate_of_the_real_model() -> None:
    # 5 s at 480x832 with one reference image: 21 + 1 latent frames of 52 x 30 patches.
    assert tokens(81, 832, 480, 1, WAN_VACE_1_3B) == 22 * 52 * 30
    # About 2 x 1.5B parameters x tokens for the projections, plus attention: ~0.46 PFLOP.
    assert forward_flops(34320, WAN_VACE_1_3B) == pytest.approx(0.459e15, rel=0.01)
    # 10 s is three chained 61-frame segments, cheaper than one 161-frame pass.
    one_pass = 2 * forward_flops(tokens(161, 832, 480, 1, WAN_VACE_1_3B), WAN_VACE_1_3B)
    assert step_flops(160, 832, 480, WAN_VACE_1_3B) < 0.65 * one_pass


def test_tiny_run_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tiny", "--width", "16", "--height", "32", "--durations", "0.5,6", "--measure-steps", "2",
                 "--steps", "4"]) == 0
    out = capsys.readouterr().out
    for row in ("| plain | 0.5 s (8 frames) |", "| plain | 6 s (96 frames) |", "| tuned | 6 s (96 frames) |"):
        assert row in out
    assert "tuned vs plain, 6 s" in out and "first-block cache" in out and "one batch of two" in out
