"""Generation's Prometheus metrics, written by whichever process renders (see
federation/metrics.py for multiprocess mode). Jobs by state are read from the database at scrape
time by the server; these count what workers did."""

from __future__ import annotations

import logging
import sys

from prometheus_client import Counter, Gauge, Histogram

RENDERS = Counter("likeness_generation_renders_total",
                  "Renders a worker ended, by outcome (done: a draft; held: held for a moderator;"
                  " failed; cancelled; released: given back to the queue at shutdown)", ["outcome"])
CLIP_SECONDS = Histogram("likeness_generation_clip_seconds",
                         "Wall-clock seconds to render one clip, from its references to the signed video",
                         buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200))
STEP_SECONDS = Histogram("likeness_generation_step_seconds",
                         "Seconds per denoising step",
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
log = logging.getLogger(__name__)

# Per process (a pid label in multiprocess mode): each GPU worker's own memory.
GPU_MEMORY = Gauge("likeness_generation_gpu_memory_bytes",
                   "CUDA memory torch holds on a worker's device, read at the end of each render: peak"
                   " (the most since the worker started) and allocated (still held, such as the weights)",
                   ["device", "kind"], multiprocess_mode="liveall")


def record_gpu_memory(device: str) -> None:
    """Set GPU_MEMORY for `device` when it is a CUDA device. torch is only looked up, never
    imported: a process that renders on CUDA has it loaded already, and one that never rendered
    (the web server) has nothing to report."""
    torch = sys.modules.get("torch")
    if not device.startswith("cuda") or torch is None or not torch.cuda.is_available():
        return
    try:
        peak, allocated = torch.cuda.max_memory_allocated(device), torch.cuda.memory_allocated(device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        # A device that is not there (its render failed for that already): a metric never
        # stops the worker, which calls this while it winds a render up.
        log.debug("no GPU memory for %s: %s", device, exc)
        return
    GPU_MEMORY.labels(device, "peak").set(peak)
    GPU_MEMORY.labels(device, "allocated").set(allocated)
