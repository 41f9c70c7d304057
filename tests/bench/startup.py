"""Start-up time and memory of the web process, side by side with another revision.

    python -m tests.bench.startup [--ref REV] [--env NAME=VALUE] [--runs N] [--starts N] [--logins N]

For this tree (and, with --ref, a copy of that revision made with `git archive`) it prints:
- importing `server.app` and `create_app()` in a fresh interpreter (median of N warm runs, the
  .pyc files already written), with the RSS after and the peak;
- a real `likeness serve` (one process, workers off since DATABASE_URL and REDIS_URL are set)
  on a fresh database: seconds from spawning it to the first /livez answer, for the first start
  (migrations) and warm starts (median and best of --starts), and the CPU seconds the process
  used by then (the figure the machine's other load sways least); its RSS idle a few seconds later
  (anonymous and file-backed, i.e. mostly shared libraries) and its peak; then the peak after N
  concurrent logins of unknown names (each one an argon2 verification);
- with --env (repeatable), this tree once more with that variable set (MALLOC_ARENA_MAX=2, say);
- `python -X importtime` of the import, summed by top-level package: the top offenders;
- what importing the app adds to the RSS, by package, and its mapped files (shared libraries).

Needs DATABASE_URL (scratch databases are made and dropped there) and REDIS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from itertools import zip_longest
from pathlib import Path

import httpx

from tests.bench.servers import ScratchDatabases, free_port

ROOT = Path(__file__).resolve().parents[2]
IMPORT_SCRIPT = """
import time
start = time.perf_counter()
import server.app
imported = time.perf_counter()
server.app.create_app()
created = time.perf_counter()
status = open("/proc/self/status").read()
kib = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status.splitlines())
       if k in ("VmRSS", "VmHWM")}
print(imported - start, created - imported, kib["VmRSS"], kib["VmHWM"], time.process_time())
"""
MIB = 1024
# What importing the app adds to the RSS, by top-level package: each module's import is measured
# (the RSS after executing it, less before, less what the modules it imported added), and the
# mapped files such as shared libraries, by package (their resident pages, /proc/self/smaps).
MEMORY_SCRIPT = """
import json, os, re, sys
from collections import defaultdict
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE
added, stack = defaultdict(int), []
class Measure:
    def find_spec(self, name, path=None, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = getattr(spec.loader, "exec_module", None)
        if run is None:
            return spec
        def exec_module(module, run=run, key=name.split(".")[0]):
            before = rss()
            stack.append(0)
            try:
                run(module)
            finally:
                total, inner = rss() - before, stack.pop()
                added[key] += total - inner
                if stack:
                    stack[-1] += total
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Measure())
start = rss()
import server.app
server.app.create_app()
added["(create_app)"] = 0
def package(path):
    match = re.search(r"site-packages/([^/]+)", path)
    match = match or re.search(r"/(server|federation|generation|policy)/", path)
    return match[1].split(".")[0] if match else "python (interpreter, stdlib)"
mapped, name = defaultdict(int), None
for line in open("/proc/self/smaps"):
    fields = line.split()
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        name = package(fields[5]) if len(fields) > 5 and fields[5].startswith("/") else None
    elif fields[0] == "Rss:" and name:
        mapped[name] += int(fields[1]) * 1024
print(json.dumps({"imports": added, "mapped": mapped, "total": rss() - start}))
"""


def _cpu_s(pid: int) -> float:
    """The CPU seconds (user and system) process `pid` has used: less sensitive to the others'
    load on a shared machine than the wall clock, though cache misses still count."""
    # The fields after the command's name, which is in parentheses and may hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status(pid: int) -> dict[str, int]:
    """The memory lines of /proc/PID/status, in KiB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines)
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def measure_import(tree: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    subprocess.run([sys.executable, "-c", IMPORT_SCRIPT], cwd=tree, env=env, check=True, capture_output=True)
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT], cwd=tree, env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        rows.append([float(value) for value in out])
    imp, create, rss, peak, cpu = (statistics.median(column) for column in zip(*rows, strict=True))
    # The best run too: on a shared machine it is the nearest to the cost without the others' load.
    return {"import s": imp, "import s, best run": min(row[0] for row in rows),
            # The interpreter's own start included.
            "import, CPU s": cpu, "create_app s": create,
            "RSS MiB": rss / MIB, "peak MiB": peak / MIB}


def import_offenders(tree: Path, top: int) -> list[tuple[str, float]]:
    """Self import time summed by top-level package, in ms, largest first."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import server.app; server.app.create_app()"],
                          cwd=tree, check=True, capture_output=True, text=True)
    totals: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            name = match[2]
            # Our own packages by module, others by distribution-ish top-level name.
            key = name if name.split(".")[0] in ("server", "federation", "generation", "policy") \
                else name.split(".")[0]
            totals[key] += int(match[1]) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def memory_by_package(tree: Path, top: int) -> dict[str, list[tuple[str, float]]]:
    """MiB held after importing the app, by package, largest first."""
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], cwd=tree, check=True, capture_output=True,
                          text=True)
    found = json.loads(done.stdout.splitlines()[-1])
    return {kind: sorted(((name, size / MIB / MIB) for name, size in found[kind].items()),
                         key=lambda item: -item[1])[:top] for kind in ("imports", "mapped")}


async def _until_live(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"likeness serve exited with {process.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError(f"{url} did not answer")


async def _logins(base: str, count: int) -> list[int]:
    async with httpx.AsyncClient(timeout=120) as client:
        answers = await asyncio.gather(*(
            client.post(f"{base}/oauth/token", data={"grant_type": "password", "username": f"nobody{i}",
                                                     "password": "not the password"})
            for i in range(count)))
    return [answer.status_code for answer in answers]


async def measure_serve(tree: Path, env: dict[str, str], database_url: str, logins: int, idle_s: float,
                        starts: int) -> dict[str, float]:
    result: dict[str, float] = {}
    warm: list[float] = []
    warm_cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="likeness-bench-") as data_dir:
        env = {**env, "DATABASE_URL": database_url, "LIKENESS_DATA_DIR": data_dir}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        # One port for both starts: the origin (with its port) is fixed at the first.
        port = free_port()
        for start in ("first", *(["warm"] * starts)):
            began = time.perf_counter()
            command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
            process = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            try:
                await _until_live(f"http://127.0.0.1:{port}/livez", process)
                if start == "first":
                    result["first start to /livez s"] = time.perf_counter() - began
                    result["first start, CPU s"] = _cpu_s(process.pid)
                else:
                    warm.append(time.perf_counter() - began)
                    warm_cpu.append(_cpu_s(process.pid))
                if len(warm) == starts:
                    result["warm start to /livez s"] = statistics.median(warm)
                    result["warm start, best run s"] = min(warm)
                    result["warm start, CPU s"] = statistics.median(warm_cpu)
                    result["warm start, CPU s, best"] = min(warm_cpu)
                    await asyncio.sleep(idle_s)
                    idle = _status(process.pid)
                    result["idle RSS MiB"] = idle["VmRSS"] / MIB
                    result["  anonymous MiB"] = idle["RssAnon"] / MIB
                    result["  file-backed MiB"] = idle["RssFile"] / MIB
                    result["peak at start MiB"] = idle["VmHWM"] / MIB
                    codes = await _logins(f"http://127.0.0.1:{port}", logins)
                    if set(codes) != {401}:
                        print(f"  (logins answered {sorted(set(codes))}, expected 401)", file=sys.stderr)
                    after = _status(process.pid)
                    result[f"peak after {logins} logins MiB"] = after["VmHWM"] / MIB
                    result[f"RSS after {logins} logins MiB"] = after["VmRSS"] / MIB
            finally:
                process.terminate()
                process.wait(timeout=30)
    return result


def _archive(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _table(title: str, columns: list[str], rows: dict[str, list[float | None]]) -> None:
    print(f"\n{title}")
    width = max(len(name) for name in rows) + 2
    cell = max(14, *(len(column) + 2 for column in columns))
    print(" " * width + "".join(f"{column:>{cell}}" for column in columns))
    for name, values in rows.items():
        cells = "".join(f"{'-' if value is None else f'{value:.3f}':>{cell}}" for value in values)
        print(f"{name:<{width}}{cells}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", help="a git revision to measure beside this tree (e.g. main)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="measure this tree again with this variable set (repeatable)")
    parser.add_argument("--runs", type=int, default=5, help="import measurements per tree (median)")
    parser.add_argument("--starts", type=int, default=3, help="warm starts of serve per tree (median)")
    parser.add_argument("--logins", type=int, default=8, help="concurrent logins after the start")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading the RSS")
    parser.add_argument("--top", type=int, default=15, help="import-time offenders to print")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL and REDIS_URL (a real `likeness serve` is measured against them)")
    # A warm start reads the .pyc files that an install writes; without them each start compiles
    # every module again (a third of it), which is not what an operator's restart does.
    base = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="likeness-ref-") as scratch:
        trees = {"this tree": (ROOT, base)}
        if args.ref:
            trees = {args.ref: (_archive(args.ref, Path(scratch)), base), **trees}
        for variable in args.env:
            name, _, value = variable.partition("=")
            trees[variable] = (ROOT, {**base, name: value})
        results: dict[str, dict[str, float]] = {}
        offenders: dict[str, list[tuple[str, float]]] = {}
        memory: dict[str, dict[str, list[tuple[str, float]]]] = {}
        async with ScratchDatabases() as databases:
            for label, (tree, env) in trees.items():
                database_url = await databases.new()
                assert database_url is not None
                results[label] = {**measure_import(tree, env, args.runs),
                                  **await measure_serve(tree, env, database_url, args.logins, args.idle,
                                                       args.starts)}
                if label in ("this tree", args.ref):
                    offenders[label] = import_offenders(tree, args.top)
                    memory[label] = memory_by_package(tree, args.top)
    names = list(dict.fromkeys(name for result in results.values() for name in result))
    _table(f"Web process start-up ({os.cpu_count()} cores; import: median of {args.runs})", list(results),
           {name: [result.get(name) for result in results.values()] for name in names})
    for label, rows in offenders.items():
        print(f"\nimport time by package, {label} (self ms, -X importtime)")
        for name, ms in rows:
            print(f"  {name:<40}{ms:8.1f}")
    for label, kinds in memory.items():
        print(f"\nmemory of importing the app, {label} (MiB): RSS each package's import added (without"
              " the packages it imported) | mapped files (shared libraries) by package")
        rows = zip_longest(kinds["imports"], kinds["mapped"], fillvalue=("", 0.0))
        for (name, size), (lib, lib_size) in rows:
            print(f"  {name:<34}{size:6.1f}   | {lib:<34}{lib_size:6.1f}")


if __name__ == "__main__":
    asyncio.run(main())
