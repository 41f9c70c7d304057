"""The GPU benchmark's CPU smoke run: it builds, renders through both paths and prints its table."""

from __future__ import annotations

import pytest

from tests.bench.generation import WAN_VACE_1_3B, build_full, forward_flops, main, step_flops, tokens


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
    assert "tuned vs plain, 6 s" in out and "one batch of two" in out
    assert "first-block cache (threshold 0.2), tuned path without compilation" in out, out


def test_the_full_size_model_builds_and_the_flop_count_matches_it() -> None:
    # On the meta device, so no memory: the configuration written in the benchmark must be one this
    # diffusers accepts (the GPU run is not where to find out), at the published sizes.
    pipe = build_full("meta")
    blocks = [*pipe.transformer.blocks, *pipe.transformer.vace_blocks]
    assert len(blocks) == 45
    assert 2.0e9 < sum(p.numel() for p in pipe.transformer.parameters()) < 2.3e9
    assert 5.6e9 < sum(p.numel() for p in pipe.text_encoder.parameters()) < 5.8e9
    # Per video token, a forward multiplies by every block weight once (2 FLOPs each), less the
    # cross-attention keys and values, which see the text tokens instead.
    d = WAN_VACE_1_3B["num_attention_heads"] * WAN_VACE_1_3B["attention_head_dim"]
    weights = sum(p.numel() for block in blocks for p in block.parameters() if p.dim() == 2)
    per_token = forward_flops(1001, WAN_VACE_1_3B) - forward_flops(1000, WAN_VACE_1_3B)
    attention = 4 * 2001 * d * len(blocks)  # the N^2 term's share of one more token
    assert per_token - attention == pytest.approx(2 * (weights - 45 * 2 * d * d), rel=0.03)
