"""docker/ against the code: the web image installs no generation stack, compose passes only
variables the server reads or the README documents, Prometheus scrapes every Likeness
container's metrics port, and every metric the Grafana dashboard plots is one the code exports
(and every one it exports has a panel). The Docker daemon is not needed: the files are parsed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
TOKEN = "a-long-metrics-token"


def _stages(dockerfile: Path) -> dict[str, dict[str, Any]]:
    """Each stage of a Dockerfile by name: its base and its instructions (continued lines joined)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    stages: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            base, _, name = rest.partition(" AS ")
            current = {"from": base.strip(), "instructions": []}
            stages[name.strip()] = current
        elif current is not None:
            current["instructions"].append((word.upper(), rest.strip()))
    return stages


def _needed(stages: dict[str, dict[str, Any]], target: str) -> list[str]:
    """The stages a target is built from: its base's chain and the stages it copies from."""
    needed, todo = [], [target]
    while todo:
        name = todo.pop()
        if name in needed or name not in stages:
            continue
        needed.append(name)
        todo.append(stages[name]["from"])
        todo += [match for word, rest in stages[name]["instructions"] if word == "COPY"
                 for match in re.findall(r"--from=(\S+)", rest)]
    return needed


def _base_chain(stages: dict[str, dict[str, Any]], target: str) -> list[str]:
    """The stages whose layers end up in the target's image: it and its bases."""
    chain = []
    while target in stages:
        chain.append(target)
        target = stages[target]["from"]
    return chain


def _runs(stages: dict[str, dict[str, Any]], names: list[str]) -> str:
    return "\n".join(rest for name in names for word, rest in stages[name]["instructions"] if word == "RUN")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _likeness_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run a `likeness` command from an image built here."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


STAGES = _stages(DOCKER / "Dockerfile")
GPU_STACK = re.compile(r"generation|torch|diffusers|transformers", re.IGNORECASE)


def test_the_web_image_installs_no_generation_stack_and_holds_no_compiler():
    needed = _needed(STAGES, "web")
    assert "build-web" in needed and "build-gpu-worker" not in needed
    runs = _runs(STAGES, needed)
    assert re.search(r"pip install [^\n]*\s\.(\s|$)", runs), runs
    assert not GPU_STACK.search(runs), GPU_STACK.findall(runs)
    # The final image's layers: no compiler was installed in them; it runs as a user of its own.
    final = _base_chain(STAGES, "web")
    assert "gcc" not in _runs(STAGES, final)
    users = [rest for word, rest in STAGES["web"]["instructions"] if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    # The classic builder builds every stage before the target: the web's come first.
    order = list(STAGES)
    assert all(order.index(name) <= order.index("web") for name in needed)
    assert order.index("build-gpu-worker") > order.index("web")


def test_the_gpu_worker_image_installs_the_generation_extra_and_renders_on_cuda():
    needed = _needed(STAGES, "gpu-worker")
    assert "'.[generation]'" in _runs(STAGES, needed)
    assert "gcc" not in _runs(STAGES, _base_chain(STAGES, "gpu-worker"))
    command = [json.loads(rest) for word, rest in STAGES["gpu-worker"]["instructions"] if word == "CMD"]
    assert command == [["likeness", "worker", "--device", "cuda"]]
    gpu = _compose()["services"]["gpu-worker"]
    assert gpu["build"]["target"] == "gpu-worker" and gpu["command"][-2:] == ["--device", "cuda"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    services = _likeness_services(_compose())
    assert {name: s["build"]["target"] for name, s in services.items()} == {
        "web": "web", "worker": "web", "gpu-worker": "gpu-worker", "cpu-worker": "gpu-worker"}


def _read_by_settings() -> set[str]:
    return set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', (ROOT / "server" / "config.py").read_text()))


def _documented() -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]{2,})[`=]", (ROOT / "README.md").read_text()))


def test_compose_passes_only_variables_the_server_reads_or_the_readme_documents():
    known = _read_by_settings() | _documented()
    assert "LIKENESS_S3_ENDPONT" not in known  # a typo would be caught
    compose = _compose()
    for name, service in _likeness_services(compose).items():
        unknown = set(service["environment"]) - known
        assert not unknown, (name, unknown)
        assert service["environment"]["LIKENESS_METRICS_PORT"]
    # What the file reads from the operator's shell is documented too.
    shell = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (DOCKER / "compose.yaml").read_text()))
    assert shell and not shell - _documented(), shell - _documented()
    # The bucket the services use is the one MinIO's setup makes.
    bucket = compose["services"]["web"]["environment"]["LIKENESS_S3_BUCKET"]
    assert f"store/{bucket}" in " ".join(compose["services"]["minio-bucket"]["entrypoint"])


def test_the_readme_describes_every_compose_service_and_profile():
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Production"):]
    production = production[:production.index("\n## ", 1)]
    compose = _compose()
    for name, service in compose["services"].items():
        assert f"`{name}`" in production, name
        for profile in service.get("profiles", []):
            assert f"profile `{profile}`" in production, profile
        for port in service.get("ports", []):
            assert port.rpartition(":")[0] in production, port


def test_prometheus_scrapes_the_metrics_port_of_every_likeness_service():
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    services = _likeness_services(_compose())
    scraped: set[str] = set()
    for job in config["scrape_configs"]:
        for discovery in job["dns_sd_configs"]:
            assert set(discovery["names"]) <= set(services), discovery["names"]
            for name in discovery["names"]:
                assert discovery["port"] == int(services[name]["environment"]["LIKENESS_METRICS_PORT"])
            scraped |= set(discovery["names"])
    assert scraped == set(services)


def _exported(text: str) -> dict[str, str]:
    """Every sample name a scrape may carry, by the family name the README gives: a counter's
    with `_total`, a histogram's buckets, count and sum (the `_created` timestamps, which a
    multiprocess scrape leaves out, are no metric to plot)."""
    names: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):
            continue
        if family.type == "counter":
            names[f"{family.name}_total"] = f"{family.name}_total"
        elif family.type == "histogram":
            names.update({f"{family.name}{suffix}": family.name for suffix in ("_bucket", "_count", "_sum")})
        else:
            names[family.name] = family.name
    return names


def _panel_metrics(dashboard: dict[str, Any]) -> dict[str, set[str]]:
    """The likeness_* names each panel's expressions use (quoted label values left out)."""
    used = {}
    for panel in dashboard["panels"]:
        expressions = " ".join(target["expr"] for target in panel.get("targets", []))
        used[panel["title"]] = set(re.findall(r"\blikeness_[a-z0-9_]+", re.sub(r'"[^"]*"', "", expressions)))
    return used


async def test_the_dashboard_plots_exactly_the_metrics_the_code_exports(make_instance):
    # The generation workers' own, which a web process never imports; this one scrapes them too.
    import generation.metrics  # noqa: F401

    a = await make_instance("a", metrics_token=TOKEN, run_workers=False)
    scraped = await a.api(None, "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    exported = {name: family for name, family in _exported(scraped.text).items()
                if name.startswith("likeness_")}
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "likeness.json").read_text())
    used = _panel_metrics(dashboard)
    for title, names in used.items():
        assert not names - set(exported), (title, names - set(exported))
    families = set(exported.values())
    plotted = {exported[name] for names in used.values() for name in names}
    assert plotted == families, families - plotted
    readme = (ROOT / "README.md").read_text()
    assert not [family for family in families if f"`{family.removeprefix('likeness_')}`" not in readme]
    # The data source the panels name is the one provisioned.
    provisioned = DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
    source = yaml.safe_load(provisioned.read_text())
    uids = {target["datasource"]["uid"] for panel in dashboard["panels"]
            for target in panel.get("targets", [])}
    assert uids == {source["datasources"][0]["uid"]}


def test_a_plain_install_carries_the_migrations_and_the_web_files(tmp_path):
    """The web image runs `pip install .`, not an editable install: the wheel must hold what the
    server reads beside its packages."""
    # Built from a copy of what the image's build context holds (.dockerignore), so that no
    # build/ directory of the checkout's goes into the wheel or is left behind.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("server", "federation", "generation", "policy", "migrations"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("likeness-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    patterns = ("migrations/*.sql", "server/web/templates/*.html")
    wanted = [path.relative_to(ROOT).as_posix() for pattern in patterns for path in ROOT.glob(pattern)]
    assert wanted and not set(wanted) - names, set(wanted) - names
