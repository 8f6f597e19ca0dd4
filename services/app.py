"""The one ASGI app: mounts the routers of ingest, render and publish, plus health checks.

Composition root (with ``services/cli.py``): the only module that imports more than one service.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from services.ingest.api import router as ingest_router
from services.ingest.sources.api import router as sources_router
from services.publish.api import router as publish_router
from services.publish.websub_api import router as websub_router
from services.render.api import router as render_router
from shared import keys, metrics, names, openapi, problems
from shared.bodylimit import BodyLimitMiddleware
from shared.ratelimit import RateLimitMiddleware
from shared.redis_conn import get_redis
from shared.settings import get_settings

VERSION = "0.1.0"


def readiness() -> tuple[bool, dict[str, Any]]:
    """Redis reachable, and at least one live worker seen for each queue."""
    checks: dict[str, Any] = {}
    try:
        client = get_redis()
        client.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not raise
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        return False, checks
    workers: dict[str, int] = {}
    for queue in names.QUEUES:
        workers[queue] = sum(1 for _ in client.scan_iter(keys.worker_heartbeat_pattern(queue)))
    checks["workers"] = workers
    return checks["redis"] == "ok" and all(workers.values()), checks


def create_app() -> FastAPI:
    app = FastAPI(
        title="Syndicate",
        version=VERSION,
        description=(
            "Wire copy in; clean, attributed stories out as RSS, Atom and JSON feeds and signed "
            "webhooks. Write endpoints take `Authorization: Bearer <token>`; feeds are public; "
            "errors are RFC 9457 problem+json."
        ),
    )
    problems.install(app)
    # outermost first: a flood is refused before anything, then oversized bodies
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RateLimitMiddleware)
    openapi.install(app)
    app.include_router(ingest_router)
    app.include_router(sources_router)
    app.include_router(render_router)
    app.include_router(publish_router)
    app.include_router(websub_router)

    @app.get("/", tags=["service"], summary="Where things are")
    def index() -> dict[str, str]:
        base = get_settings().base_url
        return {
            "service": "syndicate",
            "docs": f"{base}/docs",
            "openapi": f"{base}/openapi.json",
            "feeds": f"{base}/feeds",
            "sources": f"{base}/v1/sources",
            "rss": f"{base}/feeds/all.rss",
            "atom": f"{base}/feeds/all.atom",
            "json": f"{base}/feeds/all.json",
            "metrics": f"{base}/metrics",
        }

    @app.get(
        "/metrics",
        tags=["service"],
        summary="Prometheus metrics of every process (kept in Redis, summed)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    def metrics_endpoint() -> Response:
        return Response(metrics.exposition(get_redis), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["service"], summary="Liveness: the API process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["service"],
        summary="Readiness: Redis reachable and a worker seen for every queue",
        responses={503: {"description": "Not ready"}},
    )
    def readyz() -> JSONResponse:
        ready, checks = readiness()
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    return app
