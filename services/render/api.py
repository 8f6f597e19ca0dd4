"""Render's HTTP router: serve stored feed bytes like a good feed host.

Per request: a pending change of the document is rendered first (``onread``: feeds nobody
follows render when read; one round trip when nothing is pending), then one small Redis read
of the validators of the chosen encoding, then ``304`` or the stored bytes (identity or
gzip, compressed by the first gzip read of each render and kept: ``feedstore``). ``GET /feeds`` lists every feed.
"""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from services.render import catalog
from services.render.documents import FORMATS
from services.render.index import Index
from services.render.onread import render_pending
from services.render.pump import Rendered
from shared import feedstore as store
from shared.errors import NotFound
from shared.problems import problem_responses
from shared.redis_conn import get_redis
from shared.settings import Settings, get_settings

router = APIRouter(tags=["feeds"])


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our ETag."""
    if header.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


def not_modified(request: Request, etag: str, last_modified_http: str) -> bool:
    """``If-None-Match`` wins when present; else ``If-Modified-Since`` not older than ours."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return _etag_matches(inm, etag)
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            return parsedate_to_datetime(ims) >= parsedate_to_datetime(last_modified_http)
        except (TypeError, ValueError):
            return False
    return False


def accepts_gzip(header: str | None) -> bool:
    """Does ``Accept-Encoding`` allow gzip (``gzip``/``x-gzip`` or ``*`` with q > 0)?"""
    if not header:
        return False
    wildcard: float | None = None
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            wildcard = q
    return wildcard is not None and wildcard > 0


_FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The feed, exactly as rendered (gzip when asked)",
        "content": {
            "application/rss+xml": {"schema": {"type": "string"}},
            "application/atom+xml": {"schema": {"type": "string"}},
            "application/feed+json": {"schema": {"type": "object"}},
        },
    },
    304: {"description": "Not modified"},
    **problem_responses(404),
}


def _urls(base: str, name: str) -> dict[str, str]:
    return {fmt: f"{base}/feeds/{name}.{fmt}" for fmt in FORMATS}


@router.get("/feeds", summary="Every feed, with its URLs in RSS, Atom and JSON Feed")
def list_feeds() -> dict[str, list[dict[str, Any]]]:
    settings = get_settings()
    base = settings.base_url
    feeds = []
    for info in Index(get_redis()).all_feeds():
        spec = catalog.spec_for(
            info,
            base_url=base,
            title=settings.feed_title,
            language=settings.feed_language,
            max_age=settings.feed_max_age,
        )
        feeds.append(
            {
                "name": info.name,
                "kind": info.kind,
                "title": spec.title,
                "description": spec.description,
                "urls": _urls(base, info.name),
            }
        )
    return {"feeds": feeds}


@router.head("/feeds/{path:path}", responses=_FEED_RESPONSES, summary="A feed's headers")
@router.get(
    "/feeds/{path:path}",
    responses=_FEED_RESPONSES,
    summary="A feed: /feeds/{name}.rss, .atom or .json (archive pages: {name}/archive/{page})",
)
def get_feed(path: str, request: Request) -> Response:
    parsed = catalog.parse_document_path(path)
    if parsed is None:
        raise NotFound(
            f"No feed {path!r}; GET /feeds lists them (e.g. /feeds/all.rss).", resource=path
        )
    name, page, fmt = parsed
    document = catalog.document_id(name, page)
    encoding = "gzip" if accepts_gzip(request.headers.get("accept-encoding")) else "identity"
    client = get_redis()
    render_pending(client, document, _render)  # a feed nobody follows renders when read
    stored = store.load_headers(client, document, fmt, encoding)
    if stored is None:
        raise NotFound(f"No feed {path!r}; GET /feeds lists them.", resource=path)
    settings = get_settings()
    if not_modified(request, stored.etag, format_datetime(stored.last_modified, usegmt=True)):
        return Response(status_code=304, headers=_headers(stored, settings, path, name, fmt, page))
    body = b""
    if request.method != "HEAD":
        loaded = store.load_encoded(client, document, fmt, encoding)
        if loaded is None:  # removed between the two reads
            raise NotFound(f"No feed {path!r}; GET /feeds lists them.", resource=path)
        body, stored = loaded
    headers = _headers(stored, settings, path, name, fmt, page)
    headers["Content-Length"] = str(stored.length)
    if encoding == "gzip":
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type=stored.content_type, headers=headers)


def _render(document: str, claim: int) -> Rendered:
    from services.render.tasks import render_feed_document  # the render itself, as the pump's

    return render_feed_document(document, claim)


def _headers(
    stored: store.StoredHeaders,
    settings: Settings,
    path: str,
    name: str,
    fmt: str,
    page: str | None,
) -> dict[str, str]:
    """Validators, caching and WebSub discovery: the same on 200, 304 and HEAD."""
    base = settings.base_url
    self_link = f'<{base}/feeds/{path}>; rel="self"'
    if page is None:
        link = f'<{base}/websub>; rel="hub", {self_link}'
    else:
        link = f'{self_link}, <{base}/feeds/{name}.{fmt}>; rel="current"'
    return {
        "ETag": stored.etag,
        "Last-Modified": format_datetime(stored.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={settings.feed_max_age}",
        "Vary": "Accept-Encoding",
        "Link": link,
    }
