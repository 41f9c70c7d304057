"""A tiny, randomly initialised Wan 2.1 VACE pipeline, built offline and saved in diffusers format.

It has the real architecture (UMT5 text encoder, Wan VAE, VACE transformer, UniPC flow scheduler)
at toy sizes, so `load_pipeline` loads it with the same code as real weights and every test, the
demo and a fresh instance render without downloading anything. Its output is coloured noise.

The tokenizer is built in code: byte-level BPE with no merges (256 byte symbols plus pad, eos and
unk), so any UTF-8 prompt encodes and different prompts give different ids, with no vocabulary
file to fetch from the hub.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .config import TINY_MODEL_MARKER

if TYPE_CHECKING:
    from diffusers import WanVACEPipeline
    from transformers import PreTrainedTokenizerFast

# Built in code, never fetched: a stray hub call fails at once (read when the hub client loads).
os.environ["HF_HUB_OFFLINE"] = "1"

# Names in the tiny model's config; the real Wan 2.1 VACE 1.3B uses the same component classes.
TEXT_DIM = 32
MAX_SEQUENCE_LENGTH = 64


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE without merges: every UTF-8 string encodes, nothing to download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    byte_symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: index for index, token in enumerate(specials + byte_symbols)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", vocab["</s>"])]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=MAX_SEQUENCE_LENGTH)


def build_tiny_pipeline(seed: int = 0) -> WanVACEPipeline:
    """The pipeline in memory; the same seed gives the same weights."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = byte_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = UMT5EncoderModel(UMT5Config(
            vocab_size=len(tokenizer), d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, dropout_rate=0.0, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
        )).eval()
        vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True])
        # rope_max_seq_len as in the real model, so that full-length segments fit.
        transformer = WanVACETransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
            out_channels=16, text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=3,
            cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=1024,
            vace_layers=[0, 2], vace_in_channels=96,
        )
    # The real checkpoint's scheduler: UniPC on flow-matching sigmas, shift 3 for 480p.
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        flow_shift=3.0)
    return WanVACEPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                           transformer=transformer, scheduler=scheduler)


def _build_into(directory: Path, seed: int) -> None:
    """Save beside `directory` and rename into place; raises OSError if `directory` exists."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        build_tiny_pipeline(seed).save_pretrained(staging, safe_serialization=True)
        (staging / TINY_MODEL_MARKER).write_text(
            "Likeness's tiny model: random weights, its videos are noise. Likeness renders it at its own"
            " small size, steps and frame rate (generation/config.py).\n")
        os.rename(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def make_tiny_model(directory: Path, seed: int = 0) -> Path:
    """Build the tiny pipeline and save it in diffusers format at `directory`, replacing whatever
    was there."""
    directory = Path(directory).resolve()
    if directory.exists():
        shutil.rmtree(directory)
    _build_into(directory, seed)
    return directory


def ensure_tiny_model(data_dir: Path) -> Path:
    """The instance's default model, data_dir/models/tiny, built on first use. A half-built one
    never shows: the directory only appears, complete, by rename."""
    directory = Path(data_dir).resolve() / "models" / "tiny"
    if (directory / "model_index.json").exists():
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    try:
        _build_into(directory, seed=0)
    except OSError:
        # Another process renamed its finished copy into place first.
        if not (directory / "model_index.json").exists():
            raise
    return directory
