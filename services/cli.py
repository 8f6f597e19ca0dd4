"""The ``syndicate`` command: run the service whole or in parts, and use its pure code directly.

Composition root (with ``services/app.py``): it may import every service.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from shared.settings import Settings, get_settings

cli = typer.Typer(
    name="syndicate",
    help="News-wire syndication: wire copy in; clean stories out as feeds and signed webhooks.",
    no_args_is_help=True,
    add_completion=False,
)

TASK_MODULES = {
    "ingest": "services.ingest.tasks",
    "render": "services.render.tasks",
    "publish": "services.publish.tasks",
}
DEFAULT_POOLS = {"ingest": ("solo", 1), "render": ("solo", 1), "publish": ("threads", 16)}


def worker_pool(queue: str, settings: Settings) -> tuple[str, int]:
    """The pool and concurrency a worker of ``queue`` runs with unless told otherwise: ingest
    parses (CPU) so more than one means processes; publish waits on partners, so threads."""
    if queue == "ingest" and settings.ingest_concurrency > 1:
        return "prefork", settings.ingest_concurrency
    if queue == "publish":
        return "threads", settings.publish_concurrency
    return DEFAULT_POOLS[queue]


def _setup_logging(role: str = "cli") -> None:
    """Every process entry logs alike (``shared.logging``): ``role`` names it in each line."""
    from shared.logging import configure_logging

    configure_logging(role)


def _quiet() -> list[str]:
    """Celery's global ``--quiet`` (no banner on stdout) when lines must all be JSON."""
    return ["--quiet"] if get_settings().log_format == "json" else []


@cli.command()
def up(
    scheduler: Annotated[bool, typer.Option(help="Run the scheduler too.")] = True,
) -> None:
    """Run the whole service in the foreground: Redis (embedded unless REDIS_URL is set), the
    API, one worker per queue and the scheduler. Ctrl-C or SIGTERM stops every part."""
    from services.supervisor import Supervisor

    _setup_logging("supervisor")
    raise typer.Exit(Supervisor(get_settings(), with_scheduler=scheduler).run())


@cli.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default: SYNDICATE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: SYNDICATE_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API alone."""
    import uvicorn

    from shared.logging import dict_config

    _setup_logging("api")
    settings = get_settings()
    uvicorn.run(
        "services.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=dict_config("api"),  # each uvicorn worker process logs as we do
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.forwarded_allow_ips),
        server_header=False,
    )


@cli.command()
def worker(
    queue: Annotated[str, typer.Argument(help="ingest, render or publish")],
    concurrency: Annotated[int | None, typer.Option(min=1)] = None,
    pool: Annotated[str | None, typer.Option(help="solo, threads or prefork")] = None,
) -> None:
    """Run a Celery worker for one queue."""
    import importlib
    import socket

    from celery.signals import worker_ready

    from shared.celery_app import Heartbeat, get_celery
    from shared.redis_conn import get_redis

    if queue not in TASK_MODULES:
        raise typer.BadParameter(f"queue must be one of {', '.join(TASK_MODULES)}")
    _setup_logging(f"worker-{queue}")
    if get_settings().log_format == "json":
        import celery.apps.worker

        from shared.logging import notice_writer

        # the notices Celery prints from its signal handlers become JSON lines too
        setattr(celery.apps.worker, "safe_say", notice_writer(f"worker-{queue}"))  # noqa: B010
    importlib.import_module(TASK_MODULES[queue])
    default_pool, default_concurrency = worker_pool(queue, get_settings())
    name = f"{queue}-{os.getpid()}@{socket.gethostname()}"
    heartbeat = Heartbeat(queue, get_redis(), hostname=name)
    # live for /readyz only once the worker consumes; gone at once when it stops
    worker_ready.connect(lambda **_: heartbeat.start(), weak=False)
    if queue == "render":
        _render_at_start()
    try:
        get_celery().worker_main(
            [
                *_quiet(),
                "worker",
                "-Q", queue,
                "-n", name,
                "--pool", pool or default_pool,
                "--concurrency", str(concurrency or default_concurrency),
                "--loglevel", get_settings().log_level.upper(),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        )  # fmt: skip
    finally:
        heartbeat.stop()


def _render_at_start() -> None:
    """Render every feed once, so a fresh service serves (empty) feeds at once. Named feeds that
    cannot be read are a configuration error: the worker stops and says why."""
    from services.render.tasks import render_all_feeds
    from shared.errors import ConfigurationError

    try:
        render_all_feeds()
    except ConfigurationError as exc:
        typer.echo(f"render worker: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    except Exception:
        logging.getLogger(__name__).warning("initial render skipped", exc_info=True)


@cli.command()
def scheduler(
    sources: Annotated[
        bool, typer.Option(help="Poll upstream sources too (the source poller's threads).")
    ] = True,
) -> None:
    """Run the scheduler: Celery beat (due retries and other periodic work), the ingest
    outbox sweeper (stored copy whose task was lost is sent again) and the poller of upstream
    sources (feeds, drop folders). Run several for resilience: each due poll and each outbox
    entry is claimed by one of them."""
    from services.ingest.outbox import Sweeper
    from shared.celery_app import get_celery
    from shared.redis_conn import get_redis

    _setup_logging("scheduler")
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sweeper = Sweeper(get_redis, settings.ingest_outbox_seconds).start()
    poller = None
    if sources:
        import socket

        from services.ingest.sources.fetch import http_client
        from services.ingest.sources.poller import Poller

        name = f"poller-{os.getpid()}@{socket.gethostname()}"
        poller = Poller(get_redis, settings, http_client(), name=name).start()
    try:
        get_celery().start(
            [
                *_quiet(),
                "beat",
                "--schedule", str(settings.data_dir / "celerybeat-schedule"),
                "--loglevel", settings.log_level.upper(),
            ]
        )  # fmt: skip
    finally:
        sweeper.stop()
        if poller is not None:
            poller.stop()


@cli.command()
def parse(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    content_type: Annotated[
        str, typer.Option("--content-type", "-t", help="As a client would send it.")
    ] = "application/octet-stream",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Force a format: text, html, nitf, newsml-g2, newsml-1.2, ninjs, rss, atom, "
            "jsonfeed, iptc7901, anpa1312 (default: the Content-Type, else detected).",
        ),
    ] = None,
) -> None:
    """Print the normalised story JSON of each file (a JSON array when there are several
    stories), without Redis: the ingest task's own code."""
    from services.ingest.decide import decide
    from services.ingest.formats import FORMATS, ParseContext
    from services.ingest.formats import parse as parse_copy
    from shared.errors import SyndicateError

    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    results = []
    failed = False
    for path in files:
        received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        try:
            drafts = parse_copy(path.read_bytes(), ParseContext(received, content_type, fmt))
        except SyndicateError as exc:
            typer.echo(f"{path}: {exc.detail}", err=True)
            failed = True
            continue
        for draft in drafts:
            story = decide(None, draft, now=received).story
            assert story is not None
            results.append(story.to_json_dict())
    output = results[0] if len(results) == 1 else results
    typer.echo(json.dumps(output, ensure_ascii=False, indent=2))
    if failed:
        raise typer.Exit(1)


@cli.command()
def attribution(
    lines: Annotated[
        list[str] | None, typer.Argument(help="Credit lines; stdin when none.")
    ] = None,
) -> None:
    """Print ``{"contributors", "credit_line"}`` for each credit line (one JSON object a line)."""
    from services.ingest.attribution import parse_credit_line

    source = lines if lines else (line.rstrip("\n") for line in sys.stdin)
    for line in source:
        result = parse_credit_line(line)
        contributors = [c.to_json_dict() for c in result.contributors]
        typer.echo(
            json.dumps(
                {"contributors": contributors, "credit_line": result.credit_line},
                ensure_ascii=False,
            )
        )


@cli.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Files or folders to send.")],
    url: Annotated[
        str | None, typer.Option(help="The service; default SYNDICATE_PUBLIC_URL.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SYNDICATE_TOKEN",
            help="Bearer token; default the first of SYNDICATE_API_TOKENS, else the one "
            "`make run` keeps in DATA_DIR/api-token.",
        ),
    ] = None,
    content_type: Annotated[str, typer.Option("--content-type", "-t")] = "application/octet-stream",
) -> None:
    """Post files to a running service and summarise what was accepted or refused, and why."""
    from services.wire_client import post_files

    settings = get_settings()
    tokens = settings.token_values()
    bearer = token or (tokens[0] if tokens else None) or _token_of_make_run(settings.data_dir)
    if not bearer:
        raise typer.BadParameter("no token: pass --token or set SYNDICATE_API_TOKENS")
    raise typer.Exit(post_files(paths, url or settings.base_url, bearer, content_type))


def _token_of_make_run(data_dir: Path) -> str | None:
    """The token `make run` made and kept in ``DATA_DIR/api-token``, if there is one."""
    try:
        return (data_dir / "api-token").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


@cli.command()
def ready(
    queue: Annotated[
        list[str] | None, typer.Option(help="Require a live worker of this queue (repeatable).")
    ] = None,
) -> None:
    """Exit 0 when Redis answers (and a worker of each --queue is alive); for health checks."""
    from services.app import readiness

    _, checks = readiness()
    workers = checks.get("workers", {})
    missing = [q for q in queue or [] if not workers.get(q)]
    typer.echo(json.dumps(checks))
    if checks.get("redis") != "ok" or missing:
        raise typer.Exit(1)


deliveries_cli = typer.Typer(
    help="Webhook and WebSub deliveries: list dead letters, replay.", no_args_is_help=True
)
cli.add_typer(deliveries_cli, name="deliveries")


@deliveries_cli.command("list")
def deliveries_list(
    dead: Annotated[bool, typer.Option("--dead", help="Dead letters (the default).")] = True,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    subscription: Annotated[
        str | None, typer.Option("--subscription", help="Only this subscription's (sub_…).")
    ] = None,
) -> None:
    """Print dead-lettered deliveries, newest first, one JSON object a line."""
    from services.publish import store
    from services.publish.replay import dead_letters
    from shared.redis_conn import get_redis

    client = get_redis()
    if subscription is None:
        _, found = store.list_dead(client, limit)
    else:
        found = store.get_deliveries(client, dead_letters(client, limit, subscription))
    for delivery in found:
        last = delivery.attempts[-1] if delivery.attempts else None
        typer.echo(
            json.dumps(
                {
                    "id": delivery.id,
                    "subscription_id": delivery.subscription_id,
                    "event_id": delivery.event_id,
                    "state": delivery.state,
                    "attempts": len(delivery.attempts),
                    "reason": delivery.reason,
                    "last_error": last.error if last else None,
                }
            )
        )


@deliveries_cli.command("replay")
def deliveries_replay(
    ids: Annotated[list[str] | None, typer.Argument(help="Delivery ids (dlv_…).")] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="Replay every dead letter (up to --limit).")
    ] = False,
    subscription: Annotated[
        str | None,
        typer.Option("--subscription", help="With --all-dead: only this subscription's (sub_…)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 500,
) -> None:
    """Send deliveries again (same webhook-id, signed afresh): what POST
    /v1/deliveries/{id}/replay (and /v1/subscriptions/{id}/replay-dead) does. A running
    publish worker makes the attempts."""
    from services.publish.attempts import attempt_lease
    from services.publish.replay import dead_letters, replay
    from shared import names
    from shared.celery_app import send
    from shared.errors import SyndicateError
    from shared.redis_conn import get_redis

    client = get_redis()
    wanted = list(ids or [])
    if subscription is not None and not all_dead:
        raise typer.BadParameter("--subscription goes with --all-dead")
    if all_dead:
        wanted.extend(dead_letters(client, limit, subscription))
    if not wanted and all_dead:
        typer.echo("no dead letters to replay")
        return
    if not wanted:
        raise typer.BadParameter("name delivery ids, or pass --all-dead")
    failed = 0
    for delivery_id in dict.fromkeys(wanted):
        try:
            again = replay(client, delivery_id, datetime.now(UTC), attempt_lease(get_settings()))
        except SyndicateError as exc:
            typer.echo(f"{delivery_id}: not replayed: {exc.detail}", err=True)
            failed += 1
            continue
        send(names.TASK_PUBLISH_DELIVER, again.id)
        typer.echo(f"{delivery_id}: replaying (replay {again.replays})")
    if failed:
        raise typer.Exit(1)


sources_cli = typer.Typer(
    help="Upstream sources: feeds and drop folders pulled on a schedule.", no_args_is_help=True
)
cli.add_typer(sources_cli, name="sources")


def _sources_call(action: Callable[[], object]) -> object:
    """Run a sources action; a refusal is printed (with why) and the command fails."""
    from shared.errors import SyndicateError

    try:
        return action()
    except SyndicateError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


_Body = TypeVar("_Body")


def _sources_input(build: Callable[[], _Body]) -> _Body:
    """Build a request body; what its model refuses is printed as a refusal, like the API's
    ``422`` (which field, and why), and the command fails."""
    from pydantic import ValidationError

    try:
        return build()
    except ValidationError as exc:
        why = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        typer.echo(f"refused: {why}", err=True)
        raise typer.Exit(1) from None


def _echo_model(value: object) -> None:
    from pydantic import BaseModel

    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@sources_cli.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="What to call the source.")],
    url: Annotated[str | None, typer.Option(help="An RSS, Atom or JSON Feed URL.")] = None,
    path: Annotated[str | None, typer.Option(help="A drop folder (absolute).")] = None,
    agency: Annotated[str | None, typer.Option(help="The wire it carries.")] = None,
    interval: Annotated[int | None, typer.Option(min=1, help="Poll interval, seconds.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, or the format to read.")] = "auto",
    enabled: Annotated[bool, typer.Option("--enabled/--disabled")] = True,
    timeout: Annotated[float | None, typer.Option(help="Seconds per fetch, all in.")] = None,
    max_bytes: Annotated[int | None, typer.Option(help="Largest body or file.")] = None,
) -> None:
    """Add a feed (--url) or a drop folder (--path); prints the source."""
    from services.ingest.sources import manage
    from services.ingest.sources.model import SourceIn
    from shared.redis_conn import get_redis

    body = _sources_input(
        lambda: SourceIn(
            name=name,
            url=url,
            path=path,
            agency=agency,
            interval_seconds=interval,
            format=fmt,
            enabled=enabled,
            timeout_seconds=timeout,
            max_bytes=max_bytes,
        )
    )
    _echo_model(_sources_call(lambda: manage.create(get_redis(), body, get_settings())))


@sources_cli.command("list")
def sources_list() -> None:
    """Every source with its health, one JSON object a line."""
    from services.ingest.sources import manage
    from shared.redis_conn import get_redis

    for source in manage.show_all(get_redis(), get_settings()):
        typer.echo(json.dumps(source.model_dump(mode="json"), ensure_ascii=False))


@sources_cli.command("show")
def sources_show(source_id: str) -> None:
    """One source: configuration, health, WebSub."""
    from services.ingest.sources import manage
    from shared.redis_conn import get_redis

    _echo_model(_sources_call(lambda: manage.show(get_redis(), source_id, get_settings())))


@sources_cli.command("update")
def sources_update(
    source_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    url: Annotated[str | None, typer.Option()] = None,
    path: Annotated[str | None, typer.Option()] = None,
    agency: Annotated[str | None, typer.Option()] = None,
    interval: Annotated[int | None, typer.Option(min=1)] = None,
    fmt: Annotated[str | None, typer.Option("--format")] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
    timeout: Annotated[float | None, typer.Option()] = None,
    max_bytes: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Change what is given; prints the source."""
    from services.ingest.sources import manage
    from services.ingest.sources.model import SourcePatch
    from shared.redis_conn import get_redis

    given = {
        "name": name,
        "url": url,
        "path": path,
        "agency": agency,
        "interval_seconds": interval,
        "format": fmt,
        "enabled": enabled,
        "timeout_seconds": timeout,
        "max_bytes": max_bytes,
    }
    patch = _sources_input(
        lambda: SourcePatch(**{key: value for key, value in given.items() if value is not None})
    )
    _echo_model(_sources_call(lambda: manage.update(get_redis(), source_id, patch, get_settings())))


@sources_cli.command("remove")
def sources_remove(source_ids: list[str]) -> None:
    """Remove sources (the stories they brought stay)."""
    from functools import partial

    from services.ingest.sources import manage
    from shared.redis_conn import get_redis

    for source_id in source_ids:
        _sources_call(partial(manage.remove, get_redis(), source_id))
        typer.echo(f"{source_id}: removed")


@sources_cli.command("poll")
def sources_poll(source_id: str) -> None:
    """Poll a source now, in this process (the scheduler's own code), and print what it did;
    exit 1 unless the poll succeeded."""
    from dataclasses import asdict

    from services.ingest.sources import manage
    from services.ingest.sources.fetch import http_client
    from services.ingest.sources.poll import poll
    from shared.redis_conn import get_redis

    _setup_logging()
    settings = get_settings()
    client = get_redis()
    _sources_call(lambda: manage.load(client, source_id))
    report = poll(client, source_id, settings, http_client())
    typer.echo(json.dumps(asdict(report), ensure_ascii=False, indent=2, default=str))
    if report.outcome not in ("ok", "not-modified"):
        raise typer.Exit(1)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
