"""Render's HTTP router: serve stored feed bytes with validators; never render here."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime

from fastapi import APIRouter, Request, Response

from services.render import catalog
from shared import feedstore as store
from shared.errors import NotFound
from shared.problems import problem_responses
from shared.redis_conn import get_redis
from shared.settings import get_settings

router = APIRouter(tags=["feeds"])


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our ETag."""
    if header.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


def not_modified(request: Request, etag: str, last_modified_http: str) -> bool:
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


_FEED_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The feed",
        "content": {
            "application/rss+xml": {"schema": {"type": "string"}},
            "application/atom+xml": {"schema": {"type": "string"}},
        },
    },
    304: {"description": "Not modified"},
    **problem_responses(404),
}


@router.head("/feeds/{path:path}", responses=_FEED_RESPONSES, summary="A feed's headers")
@router.get(
    "/feeds/{path:path}", responses=_FEED_RESPONSES, summary="A feed: /feeds/{name}.rss or .atom"
)
def get_feed(path: str, request: Request) -> Response:
    name, dot, fmt = path.rpartition(".")
    if not dot or fmt not in catalog.FORMATS or catalog.feed_spec(name, "") is None:
        raise NotFound(f"No feed {path!r}; try /feeds/all.rss or /feeds/all.atom.", resource=path)
    stored = store.load_feed(get_redis(), name, fmt)
    if stored is None:
        raise NotFound(f"Feed {path!r} has not been rendered yet.", resource=path)
    base = get_settings().base_url
    last_modified = format_datetime(stored.last_modified, usegmt=True)
    headers = {
        "ETag": stored.etag,
        "Last-Modified": last_modified,
        "Cache-Control": "public, max-age=60",
        "Link": f'<{base}/websub>; rel="hub", <{base}/feeds/{path}>; rel="self"',
    }
    if not_modified(request, stored.etag, last_modified):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else stored.body
    headers["Content-Length"] = str(len(stored.body))
    return Response(content=body, media_type=stored.content_type, headers=headers)
