"""Classifier-free guidance as one batch of two.

Diffusers' Wan loop runs the transformer twice per step, once with the prompt and once with the
negative prompt, on the same latents. On a GPU one forward over a batch of two keeps the
tensor cores busier than two forwards of one (tests.bench.generation measures it). The loop
itself is diffusers' own; this wraps the transformer's `forward` for one call of the pipeline:
the prompt pass computes both halves, and the negative pass that follows on the same latents
gets its half back without running again. Any call that does not fit that pattern runs as it
would have, so a change in diffusers' loop costs speed, never correctness.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch


class GuidanceBatcher:
    """The transformer's forward, answering the negative pass from the prompt pass's batch."""

    def __init__(self, forward: Callable[..., Any], prompt_embeds: torch.Tensor,
                 negative_embeds: torch.Tensor) -> None:
        self.forward = forward
        self.prompt_embeds = prompt_embeds
        self.negative_embeds = negative_embeds
        self.batched = 0
        self._pending: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def __call__(self, *, hidden_states: torch.Tensor, timestep: torch.Tensor,
                 encoder_hidden_states: torch.Tensor, **kwargs: Any) -> Any:
        pending, self._pending = self._pending, None
        if encoder_hidden_states is self.negative_embeds and pending is not None \
                and pending[0] is hidden_states and pending[1] is timestep:
            return (pending[2],)
        if encoder_hidden_states is not self.prompt_embeds or kwargs.get("return_dict", True):
            return self.forward(hidden_states=hidden_states, timestep=timestep,
                                encoder_hidden_states=encoder_hidden_states, **kwargs)
        control = kwargs.pop("control_hidden_states", None)
        if control is not None:
            kwargs["control_hidden_states"] = torch.cat([control, control])
        output = self.forward(hidden_states=torch.cat([hidden_states, hidden_states]),
                              timestep=torch.cat([timestep, timestep]),
                              encoder_hidden_states=torch.cat([encoder_hidden_states, self.negative_embeds]),
                              **kwargs)[0]
        conditional, unconditional = output.chunk(2)
        self._pending = (hidden_states, timestep, unconditional)
        self.batched += 1
        return (conditional,)


@contextlib.contextmanager
def batched_guidance(transformer: torch.nn.Module, prompt_embeds: torch.Tensor,
                     negative_embeds: torch.Tensor) -> Iterator[GuidanceBatcher]:
    """While open, `transformer` runs each step's two guidance passes as one batch. Pass the
    pipeline these very embedding tensors (already in the transformer's dtype and device):
    they are how the two passes are told apart."""
    batcher = GuidanceBatcher(transformer.forward, prompt_embeds, negative_embeds)
    transformer.forward = batcher
    try:
        yield batcher
    finally:
        del transformer.forward
