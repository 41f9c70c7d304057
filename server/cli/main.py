"""The `likeness` command: serve, worker, migrate and admin (the instance rules', held drafts'
and moderation commands are in rules.py, generations.py and moderation.py beside it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

# Nothing here imports prometheus_client before `main` has called `prepare_metrics`: the admin
# commands' modules (which import the whole server) are imported by `parser`.
from ..config import ConfigError, Settings
from .common import fail


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_json:
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _settings(port: int | None = None) -> Settings:
    settings = Settings.from_env()
    if port is not None:
        # `serve` says where the instance is; a command takes it from the database.
        settings = settings.with_(origin_asked=frozenset({"domain", "https"}))
        if not os.environ.get("LIKENESS_DOMAIN"):
            settings = settings.with_(domain=f"localhost:{port}")
    return settings


def prepare_metrics(data_dir: Path) -> None:
    """prometheus_client's multiprocess mode for this machine's processes of the instance (the
    `serve --processes` ones and workers beside them), unless the operator chose a directory:
    set before anything imports prometheus_client, which picks its storage then.

    The directory is per host, since containers that share the data directory have process ids
    of their own. Files of this host's processes that are gone are removed, so that they do not
    pile up (the counts they held restart, which Prometheus reads as a counter reset)."""
    from ..embedded import process_alive

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = data_dir / "metrics" / socket.gethostname()
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not process_alive(int(pid)):
            path.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _metrics_socket(settings: Settings) -> list[socket.socket]:
    """The metrics port's listening socket, served beside the main one; none when unset."""
    if settings.metrics_port is None:
        return []
    family = socket.AF_INET6 if ":" in settings.metrics_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.metrics_host, settings.metrics_port))
    sock.set_inheritable(True)
    return [sock]


@contextlib.contextmanager
def _importing() -> Iterator[None]:
    """Importing the web app makes about a thousand modules' objects and no garbage: the
    collector's passes meanwhile are a tenth of the start for nothing. Frozen afterwards, those
    objects are never scanned again (gc.freeze, as Instagram does for its web servers)."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def serve(args: argparse.Namespace) -> int:
    with _importing():
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from .. import app, metrics, runtime  # noqa: F401 (imported here with the collector paused)

    settings = _settings(args.port)
    _configure_logging(settings)
    options: dict[str, Any] = dict(
        host=args.host, port=args.port, log_level="info", proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))
    if args.processes > 1 and not (settings.database_url and settings.redis_url):
        print("likeness serve --processes needs DATABASE_URL and REDIS_URL: the embedded servers"
              " belong to one process", file=sys.stderr)
        return 2
    print(f"Likeness is starting at {settings.base_url}/ (listening on {args.host}:{args.port}"
          f"{f', {args.processes} processes' if args.processes > 1 else ''})", flush=True)
    if args.processes == 1:
        if settings.workers_in_process:
            # A line for every job, several a second: in the data directory, not on the console.
            from ..embedded import log_to_file, logs_dir

            log_to_file("arq", logs_dir(settings.data_dir) / "worker.log")
        asyncio.run(_serve_one(settings, options))
        return 0
    # What a first start does (migrations, the instance actor, the origin fixed), once, before
    # uvicorn: an origin that is not the instance's stops here with the last word (main prints
    # the ConfigError), not above uvicorn's "Application startup failed", and the processes
    # would race to it. Each process then starts its own instance: pools are not forked.
    _with_instance(_started, settings)
    # The processes read the settings from the environment, the domain included.
    os.environ["LIKENESS_DOMAIN"] = settings.domain
    config = uvicorn.Config("server.cli.main:process_app", factory=True, workers=args.processes, **options)
    # As uvicorn.run does, with the metrics port's socket beside the main one.
    sockets = [config.bind_socket(), *_metrics_socket(settings)]
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=sockets).run()
    return 0


async def _serve_one(settings: Settings, options: dict[str, Any]) -> None:
    """One process: the instance is started before uvicorn, so that a configuration error (an
    origin that is not the instance's, a database that does not answer) is the last word (main
    prints the ConfigError) rather than a line above uvicorn's "Application startup failed", and
    then handed to the app, started once (each start is migrations' check, pools and the actor)."""
    import uvicorn

    from ..app import create_app
    from ..metrics import ByPort
    from ..runtime import Instance

    instance = Instance(settings)
    await instance.start()
    stopping = asyncio.Lock()

    async def stop() -> None:
        async with stopping:
            if instance.pool is not None:
                await instance.stop()
                instance.pool = None

    app = create_app(instance=instance)
    config = uvicorn.Config(ByPort(app, settings.metrics_port) if settings.metrics_port else app, **options)
    try:
        await _server(config, settings, stop).serve(sockets=[config.bind_socket(),
                                                             *_metrics_socket(settings)])
    finally:
        # When uvicorn's start failed (a port in use); otherwise it stopped the instance itself.
        await stop()


def first_steps(settings: Settings) -> str:
    """What `serve` says last: where the instance is, and how to make its first account."""
    logs = f"; logs in {settings.data_dir / 'logs'}" if not settings.redis_url else ""
    return (f"Likeness is running at {settings.base_url}/{logs}\n"
            "Create the first account (the password is read from standard input):\n"
            "  echo 'a long password' | likeness admin create-user alice"
            " --email alice@example.org --role admin")


def _server(config: Any, settings: Settings, stop: Callable[[], Awaitable[None]]) -> Any:
    """uvicorn's server, saying `first_steps` once it listens, after its own lines, and calling
    `stop` after its own shutdown: before it re-raises the signal that ended it, which would
    interrupt (or, for SIGTERM, end the process before) anything done after `serve` returns."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                print(first_steps(settings), flush=True)

        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            await stop()

    return Server(config)


async def _started(instance: Any) -> int:
    """Nothing more to do: starting the instance was the point."""
    return 0


def process_app() -> Any:
    """The app of one of `serve --processes N`'s processes (uvicorn starts each afresh)."""
    with _importing():
        from ..app import create_app
        from ..metrics import ByPort

    settings = Settings.from_env()
    _configure_logging(settings)
    app = create_app(settings)
    return ByPort(app, settings.metrics_port) if settings.metrics_port else app


def worker(args: argparse.Namespace) -> int:
    from ..worker import main

    settings = _settings()

    _configure_logging(settings)
    if not settings.redis_url:
        print("likeness worker needs REDIS_URL (and DATABASE_URL): with the embedded default,"
              " `likeness serve` runs the workers itself", file=sys.stderr)
        return 2
    generation = args.generation or args.device is not None
    main(settings, federation=args.federation or not generation, generation=generation,
         device=args.device)
    return 0


def _with_instance(action: Callable[[Any], Awaitable[int]], settings: Settings | None = None) -> int:
    from ..runtime import Instance

    async def run() -> int:
        instance = Instance(settings or _settings())
        await instance.start(workers=False)
        try:
            return await action(instance)
        finally:
            await instance.stop()

    return asyncio.run(run())


def migrate(args: argparse.Namespace) -> int:
    async def run(instance: Any) -> int:
        print("migrations are up to date")
        return 0

    return _with_instance(run)


def create_user(args: argparse.Namespace) -> int:
    from ..accounts import AccountError
    from ..accounts import create_user as create

    password = sys.stdin.readline().rstrip("\n")

    async def run(instance: Any) -> int:
        try:
            await create(instance.fed, args.name, args.email, password, args.role)
        except AccountError as exc:
            return fail(str(exc))
        print(f"created {args.role} @{args.name}@{instance.settings.domain}")
        return 0

    return _with_instance(run)


def set_role(args: argparse.Namespace) -> int:
    from ..admin.moderation import change_role

    async def run(instance: Any) -> int:
        # In the audit log with no moderator, as the other admin commands are.
        if await change_role(instance.pool, moderator_id=None, username=args.name, role=args.role) is None:
            return fail(f"no user {args.name!r}")
        print(f"@{args.name} is now {args.role}")
        return 0

    return _with_instance(run)


def registrations(args: argparse.Namespace) -> int:
    from .. import store

    async def run(instance: Any) -> int:
        await store.set_setting(instance.pool, "registrations_open", args.state == "open")
        print(f"sign-up is {args.state}")
        return 0

    return _with_instance(run)


def prompt_terms(args: argparse.Namespace) -> int:
    from federation import store as fstore
    from policy.prompts import PromptError

    from ..admin.prompts import add_term, remove_term

    async def run(instance: Any) -> int:
        if args.action == "list":
            for row in await fstore.prompt_terms(instance.pool):
                if args.category in (None, row["category"]):
                    print(f"{row['category']}\t{row['term']}")
            return 0
        change = add_term(instance.fed, args.category, args.term, None) if args.action == "add" \
            else remove_term(instance.fed, args.category, args.term)
        try:
            row = await change
        except PromptError as exc:
            return fail(str(exc))
        if row is None:
            return fail(f"{args.category} {'has' if args.action == 'add' else 'has no'} term {args.term!r}")
        print(f"{'added' if args.action == 'add' else 'removed'} {row['category']} term {row['term']!r}")
        return 0

    return _with_instance(run)


def prompt_refusals(args: argparse.Namespace) -> int:
    from federation import store as fstore

    async def run(instance: Any) -> int:
        rows = await fstore.prompt_refusals(instance.pool, limit=args.limit, category=args.category)
        for row in rows:
            print(f"{row['created_at']:%Y-%m-%d %H:%M:%S}\t{row['actor_uri']}\t{row['source']}"
                  f"\t{row['rule']}\t{row['term']}\t{row['prompt_digest']}")
        return 0

    return _with_instance(run)


def public_figure(args: argparse.Namespace) -> int:
    from federation import store as fstore

    from ..admin.prompts import set_public_figure

    async def run(instance: Any) -> int:
        username, _, domain = args.name.lstrip("@").partition("@")
        actor = await fstore.actor_by_handle(instance.pool, username, domain or instance.settings.domain)
        if actor is None or actor["type"] == "Application":
            return fail(f"no account {args.name!r} known here")
        await set_public_figure(instance.fed, actor["id"], args.state == "on")
        print(f"@{username}@{actor['domain']} is {'now' if args.state == 'on' else 'no longer'}"
              " a public figure")
        return 0

    return _with_instance(run)


def verified_identity(args: argparse.Namespace) -> int:
    from federation import store as fstore
    from policy.prompts import PromptError

    from ..admin.prompts import set_verified_identity

    async def run(instance: Any) -> int:
        username, _, domain = args.name.lstrip("@").partition("@")
        actor = await fstore.actor_by_handle(instance.pool, username, domain or instance.settings.domain)
        if actor is None or not actor["local"] or actor["type"] == "Application":
            return fail(f"no local account {args.name!r}")
        try:
            await set_verified_identity(instance.fed, actor["id"], None if args.clear else args.set)
        except PromptError as exc:
            return fail(str(exc))
        said = "no longer verified as anyone" if args.clear else f"verified as {args.set!r}"
        print(f"@{username} is {said}")
        return 0

    return _with_instance(run)


def make_tiny_model(args: argparse.Namespace) -> int:
    from generation.tiny import make_tiny_model as make

    directory = make(Path(args.directory), seed=args.seed)
    print(f"built the tiny Wan VACE model in {directory}: its output is noise, for tests and demos;"
          " point LIKENESS_MODEL_DIR at real weights for videos")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="likeness", description="A federated, consent-first server"
                                  " for short AI-generated videos. Configured by environment"
                                  " variables: see the README.")
    commands = top.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run the web server (and, on the embedded default,"
                                          " the workers)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--processes", type=_positive, default=1,
                   help="web server processes sharing the port, one per core (default 1; more"
                        " need DATABASE_URL and REDIS_URL)")
    p.set_defaults(func=serve)

    p = commands.add_parser("worker", help="run a delivery and inbox worker, or a generation worker"
                                           " on one device (needs REDIS_URL)")
    p.add_argument("--federation", action="store_true",
                   help="deliver and handle inbox activities (the default without --generation)")
    p.add_argument("--generation", action="store_true",
                   help="render generation jobs, one at a time, on --device")
    p.add_argument("--device", help="the device to render on, such as cuda:0 or cpu (implies"
                                    " --generation; default LIKENESS_GENERATION_DEVICE or cpu)")
    p.set_defaults(func=worker)

    p = commands.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=migrate)

    models = commands.add_parser("generation", help="video generation models").add_subparsers(
        dest="generation_command", required=True)
    p = models.add_parser("make-tiny-model", help="build a tiny, randomly initialised Wan VACE pipeline"
                                                  " in DIR, in diffusers format (its output is noise)")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--seed", type=int, default=0, help="the weights' random seed (default 0)")
    p.set_defaults(func=make_tiny_model)

    admin = commands.add_parser("admin", help="administration").add_subparsers(
        dest="admin_command", required=True)
    p = admin.add_parser("create-user", help="create an account; the password is read from stdin")
    p.add_argument("name")
    p.add_argument("--email", required=True)
    p.add_argument("--role", choices=("admin", "moderator", "user"), default="user")
    p.set_defaults(func=create_user)
    p = admin.add_parser("set-role", help="make an account admin, moderator or user")
    p.add_argument("name")
    p.add_argument("role", choices=("admin", "moderator", "user"))
    p.set_defaults(func=set_role)
    p = admin.add_parser("registrations", help="open or close sign-up")
    p.add_argument("state", choices=("open", "closed"))
    p.set_defaults(func=registrations)

    from policy.prompts import REASONS, TERM_CATEGORIES

    terms = admin.add_parser("prompt-terms", help="terms admins add to the prompt policy's lists"
                             ).add_subparsers(dest="action", required=True)
    p = terms.add_parser("list", help="list the added terms")
    p.add_argument("--category", choices=TERM_CATEGORIES)
    p.set_defaults(func=prompt_terms)
    for action in ("add", "remove"):
        p = terms.add_parser(action, help=f"{action} a term (a word or phrase; a word ending in * is"
                                          " a prefix)")
        p.add_argument("category", choices=TERM_CATEGORIES)
        p.add_argument("term")
        p.set_defaults(func=prompt_terms)
    p = admin.add_parser("prompt-refusals", help="the latest refused prompts and the rule that fired")
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--category", choices=sorted(REASONS))
    p.set_defaults(func=prompt_refusals)
    p = admin.add_parser("public-figure", help="flag an account as a public figure (a prompt may"
                                               " only name them with their own cameo), or unflag it")
    p.add_argument("name", help="a local user name, or user@domain for a remote account")
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(func=public_figure)
    p = admin.add_parser("verified-identity", help="record who a local account is in the world, as"
                                                   " staff verified it (its cameos may then carry"
                                                   " that public figure's name), or clear it")
    p.add_argument("name", help="a local user name")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--set", metavar="IDENTITY", help='the person, as "Taylor Swift"')
    which.add_argument("--clear", action="store_true")
    p.set_defaults(func=verified_identity)

    from . import generations as generations_cli
    from . import media as media_cli
    from . import moderation as moderation_cli
    from . import rules as rules_cli
    from . import shutdown as shutdown_cli

    rules_cli.add_commands(admin, _with_instance)
    generations_cli.add_commands(admin, _with_instance)
    moderation_cli.add_commands(admin, _with_instance)
    shutdown_cli.add_commands(admin, _with_instance)
    media_cli.add_commands(admin)
    return top


# The commands whose processes count what they do, for /metrics.
COUNTING_COMMANDS = ("serve", "worker")


def main(argv: list[str] | None = None) -> int:
    try:
        command = (sys.argv[1:] if argv is None else argv)[:1]
        if command and command[0] in COUNTING_COMMANDS:
            prepare_metrics(Settings.from_env().data_dir)
        # The admin commands' modules, imported to build it, are much of the web app's.
        with _importing():
            commands = parser()
        args = commands.parse_args(argv)
        return args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


def run() -> NoReturn:
    """The `likeness` program: `main`, then the process's exit. Once obstore (the media bucket's
    client) is loaded the exit skips the interpreter's finalization: its Rust runtime's threads,
    still running then, can abort a process that has finished its work (SIGABRT, exit status
    -6; pyo3-async-runtimes issue 40). Everything of ours is closed by then; output is flushed."""
    code = main()
    if "obstore" in sys.modules:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
