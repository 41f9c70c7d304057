"""Generation's Prometheus metrics, written by whichever process renders (see
federation/metrics.py for multiprocess mode). Jobs by state are read from the database at scrape
time by the server; these count what workers did."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RENDERS = Counter("likeness_generation_renders_total",
                  "Renders a worker ended, by outcome (done: a draft; held: held for a moderator;"
                  " failed; cancelled; released: given back to the queue at shutdown)", ["outcome"])
CLIP_SECONDS = Histogram("likeness_generation_clip_seconds",
                         "Wall-clock seconds to render one clip, from its references to the signed video",
                         buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200))
STEP_SECONDS = Histogram("likeness_generation_step_seconds",
                         "Seconds per denoising step",
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
