"""Every setting of the service, read once from the environment (prefix ``SYNDICATE_``).

One table, typed, with defaults, so that every process (API, workers, scheduler, CLI) agrees.
``get_settings()`` caches the result; tests that change the environment call
``get_settings.cache_clear()``. The README's configuration table lists the same fields.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def _split_commas(value: object) -> object:
    """Environment lists are comma-separated (``a,b,c``), not JSON."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def mask_url_password(url: str) -> str:
    """``redis://:secret@host/0`` → ``redis://:***@host/0``: URLs in logs and reprs keep no
    password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _network(text: str) -> object:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text  # left for the field's own validation to refuse with a clear message


class Settings(BaseSettings):
    """The service's configuration. Field names map to ``SYNDICATE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SYNDICATE_", extra="ignore", frozen=True)

    redis_url: str | None = Field(
        default=None,
        description="Redis to use. Unset: `syndicate up` starts a private redis-server in DATA_DIR.",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the API listens on.")
    data_dir: Path = Field(default=Path("./var"), description="Embedded Redis data and schedules.")
    public_url: str | None = Field(
        default=None, description="Base URL for links in feeds; default http://HOST:PORT."
    )
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Comma-separated bearer tokens allowed to write."
    )
    webhook_allowed_networks: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="CIDRs that webhook/WebSub targets may resolve to despite being private.",
    )
    webhook_allow_http: bool = Field(
        default=False,
        description="Allow plain http:// targets anywhere (they are always allowed inside "
        "WEBHOOK_ALLOWED_NETWORKS).",
    )
    webhook_connect_timeout: float = Field(default=3.0, gt=0, description="Seconds.")
    webhook_read_timeout: float = Field(default=10.0, gt=0, description="Seconds.")
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE),
        description="Delay before each attempt, seconds, comma-separated.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="Largest wire POST body.")
    feed_size: int = Field(default=50, gt=0, le=1000, description="Entries per feed.")
    visibility_timeout: int = Field(
        default=300,
        gt=0,
        description="Seconds before a task taken by a worker that died is handed out again.",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per record; json: one JSON object per line "
        "(ts, level, logger, msg, process, and the story/event/delivery ids known).",
    )
    # --- processes under `syndicate up` and worker pools (issue #7: load) -----------------------
    api_workers: int = Field(
        default=1, ge=1, le=64, description="uvicorn worker processes of the API (`syndicate up`)."
    )
    ingest_concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Ingest worker processes (1: the solo pool; more: a prefork pool).",
    )
    publish_workers: int = Field(
        default=1, ge=1, le=16, description="Publish worker processes `syndicate up` starts."
    )
    publish_concurrency: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Threads of each publish worker (deliveries in flight).",
    )
    publish_inline_attempts: bool = Field(
        default=True,
        description="Make a new delivery's first attempt inside the fan-out task (no task per "
        "delivery); false sends a `deliver` task for each.",
    )
    publish_drainers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Drainers of the story events waiting for publish that may run at once "
        "(`shared/publish_events.py`): one runs whenever events wait, each further one while "
        "a backlog of more than 8 per drainer waits.",
    )
    debug_task_delay_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Fault injection only: every task sleeps this long after it starts.",
    )

    ingest_outbox_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A stored wire item whose ingest task has not finished this long after it "
        "was sent gets its task sent again by the scheduler's outbox sweeper.",
    )
    ingest_max_runs: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Runs of the ingest task an item may start without finishing (its worker "
        "died each time) before it is quarantined, so a poison item cannot stall ingest.",
    )

    # --- publish: webhooks and the WebSub hub (issue #5) ------------------------------------
    webhook_max_in_flight: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Deliveries in flight at once per subscription, whatever its answer time "
        "(1 while it is failing); a partner that is slow to answer or hangs gets no more.",
    )
    webhook_max_in_flight_quick: int = Field(
        default=16,
        ge=1,
        le=64,
        description="Deliveries in flight at once per subscription while it answers quickly: "
        "while every attempt in flight to it began less than "
        "SYNDICATE_WEBHOOK_SLOW_ANSWER_SECONDS ago (never fewer than "
        "SYNDICATE_WEBHOOK_MAX_IN_FLIGHT; 1 while it is failing).",
    )
    webhook_slow_answer_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="A subscription with an attempt in flight for this long answers slowly: "
        "it gets no slot past SYNDICATE_WEBHOOK_MAX_IN_FLIGHT until that attempt ends.",
    )
    webhook_safety_net_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A delivery handed out at once comes due again this long after, should its "
        "message be lost (a worker or Redis gone mid-hand-out); a second hand-out is harmless.",
    )
    webhook_disable_after_seconds: float = Field(
        default=5 * 24 * 3600.0,
        gt=0,
        description="Disable a subscription whose every delivery has failed for this long.",
    )
    webhook_secret_grace_seconds: float = Field(
        default=24 * 3600.0,
        ge=0,
        description="After rotate-secret, the old secret keeps signing for this long.",
    )
    websub_lease_seconds: int = Field(
        default=10 * 24 * 3600, gt=0, description="WebSub lease when hub.lease_seconds is absent."
    )
    websub_lease_min_seconds: int = Field(
        default=3600, gt=0, description="Shortest WebSub lease granted (shorter asks are raised)."
    )
    websub_lease_max_seconds: int = Field(
        default=30 * 24 * 3600, gt=0, description="Longest WebSub lease granted."
    )
    websub_diff_seconds: int = Field(
        default=600,
        ge=0,
        le=7 * 24 * 3600,
        description="WebSub pushes carry only the entries new or changed since the feed's "
        "previous change (a diff, kept this long for the push and its retries; later, the whole "
        "current feed goes out); 0 pushes the whole feed every time.",
    )
    websub_publish_hubs: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="External WebSub hubs told of every feed change (hub.mode=publish).",
    )
    delivery_retention_seconds: int = Field(
        default=30 * 24 * 3600,
        gt=0,
        description="How long finished deliveries (dead letters included, replayable meanwhile) "
        "and received feed updates are kept before Redis lets them go.",
    )

    @field_validator("websub_publish_hubs", mode="before")
    @classmethod
    def _hubs_from_commas(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("websub_publish_hubs")
    @classmethod
    def _hubs_are_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value

    @property
    def websub_leases(self) -> tuple[int, int, int]:
        """(default, minimum, maximum) lease seconds, ordered even if configured oddly."""
        low = min(self.websub_lease_min_seconds, self.websub_lease_max_seconds)
        high = max(self.websub_lease_min_seconds, self.websub_lease_max_seconds)
        return min(max(self.websub_lease_seconds, low), high), low, high

    # --- render: feeds (issue #4) --------------------------------------------------------------
    feed_lazy_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Seconds: a feed nobody follows (no WebSub subscriber, no feed.updated "
        "webhook, no external hub) renders when it is read, or at the latest this long after a "
        "change, and so do a followed feed's formats its followers do not take; 0 renders "
        "every feed at once, like a followed one.",
    )
    feed_render_window: float = Field(
        default=0.25,
        gt=0,
        le=60,
        description="Seconds: a feed renders at most once per window, however many events "
        "touch it (coalescing).",
    )
    feed_max_age: int = Field(
        default=60,
        ge=0,
        description="Seconds feeds may be cached (Cache-Control max-age; RSS ttl and "
        "sy:updateFrequency follow it).",
    )
    feed_tombstone_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="How long the Atom feed keeps an RFC 6721 tombstone for a removed entry.",
    )
    feed_max_bytes: int = Field(
        default=1_000_000,
        ge=20_000,
        description="Largest rendered feed; bodies are shortened (then old entries dropped) to fit.",
    )
    feed_language: str = Field(
        default="en", description="Language of the built-in feeds (all, sections, …)."
    )
    feed_title: str = Field(default="Syndicate", description="Prefix of every built-in feed title.")
    named_feeds: str | None = Field(
        default=None,
        description="Named feeds as JSON: {name: {title, sections, agencies, contributors, "
        "languages, keywords}}.",
    )
    named_feeds_file: Path | None = Field(
        default=None, description="A JSON or TOML file of named feeds (same shape as NAMED_FEEDS)."
    )

    @field_validator(
        "api_tokens", "webhook_allowed_networks", "webhook_retry_schedule", mode="before"
    )
    @classmethod
    def _lists_from_commas(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _networks_not_strict(cls, value: object) -> object:
        """Accept ``10.1.2.3/8`` as ``10.0.0.0/8``: host bits in a CIDR are a typo, not an error."""
        value = _split_commas(value)
        if isinstance(value, list):
            return [_network(item) if isinstance(item, str) else item for item in value]
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule_not_empty(cls, value: list[float]) -> list[float]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("needs at least one delay, none negative")
        return value

    @property
    def base_url(self) -> str:
        """Where clients reach the API; links in feeds and payloads start with it."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def redis_url_file(self) -> Path:
        """Where `syndicate up` writes the embedded Redis URL for the other commands."""
        return self.data_dir / "redis.url"

    def effective_redis_url(self) -> str:
        """REDIS_URL, else the embedded Redis a running `syndicate up` wrote down."""
        if self.redis_url:
            return self.redis_url
        try:
            url = self.redis_url_file.read_text(encoding="utf-8").strip()
        except OSError:
            url = ""
        if not url:
            from shared.errors import ConfigurationError

            raise ConfigurationError(
                "SYNDICATE_REDIS_URL is not set and no embedded Redis is running in "
                f"{self.data_dir} (start one with `syndicate up`)."
            )
        return url

    def token_values(self) -> list[str]:
        return [token.get_secret_value() for token in self.api_tokens]

    # --- security: token scopes, rate limits, request sizes (issue #7) ------------------------
    ingest_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated bearer tokens that may only post wire copy (scope `ingest`); "
        "API_TOKENS are `admin` (everything).",
    )
    rate_limit_enabled: bool = Field(
        default=True, description="Rate-limit requests per client (token, else address)."
    )
    rate_limit_token_per_second: float = Field(
        default=1000.0, gt=0, description="Sustained requests per second allowed to one token."
    )
    rate_limit_token_burst: int = Field(
        default=2000, ge=1, description="Requests one token may make at once above its rate."
    )
    rate_limit_anonymous_per_second: float = Field(
        default=50.0,
        gt=0,
        description="Sustained requests per second allowed to one address without a token.",
    )
    rate_limit_anonymous_burst: int = Field(
        default=200, ge=1, description="Requests one address may make at once above its rate."
    )
    rate_limit_feeds: bool = Field(
        default=False,
        description="Also count feed reads (GET/HEAD /feeds…) against the address's limit.",
    )
    max_request_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest body of any request but POST /v1/wire (JSON, forms).",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Proxies whose X-Forwarded-For names the client (uvicorn's "
        "forwarded_allow_ips); `*` trusts any.",
    )

    @field_validator("ingest_tokens", "forwarded_allow_ips", mode="before")
    @classmethod
    def _security_lists_from_commas(cls, value: object) -> object:
        return _split_commas(value)

    def ingest_token_values(self) -> list[str]:
        return [token.get_secret_value() for token in self.ingest_tokens]

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Settings print without secrets: tokens are SecretStr; a Redis password is masked."""
        for name, value in super().__repr_args__():
            if name == "redis_url" and isinstance(value, str):
                yield name, mask_url_password(value)
            else:
                yield name, value

    # --- ingest: upstream sources (issue #6) ------------------------------------------------
    source_min_interval_seconds: int = Field(
        default=60, ge=1, description="Shortest poll interval a source may ask for (seconds)."
    )
    source_default_interval_seconds: int = Field(
        default=300, ge=1, description="Poll interval of a source that names none (seconds)."
    )
    source_max_delay_seconds: int = Field(
        default=6 * 3600,
        ge=1,
        description="Longest wait that error backoff, Cache-Control max-age or Retry-After may "
        "put between two polls (a longer interval of the source's own still stands).",
    )
    source_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Default per-source budget of one fetch, redirects and body included.",
    )
    source_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        gt=0,
        description="Default largest feed body, push or dropped file of a source (bytes).",
    )
    source_max_redirects: int = Field(
        default=5, ge=0, le=20, description="Redirects followed per fetch (each hop re-checked)."
    )
    source_allowed_networks: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="CIDRs that source URLs and their WebSub hubs may resolve to despite being "
        "private/loopback.",
    )
    source_allow_http: bool = Field(
        default=True, description="Allow plain http:// source URLs on the public internet."
    )
    source_poll_threads: int = Field(
        default=8, ge=1, le=256, description="Polls in flight at once per scheduler process."
    )
    source_websub_poll_seconds: int = Field(
        default=3600,
        ge=1,
        description="Safety-net poll interval of a source whose WebSub hub pushes to us.",
    )
    source_websub_lease_seconds: int = Field(
        default=10 * 24 * 3600, gt=0, description="Lease we ask upstream WebSub hubs for."
    )
    source_file_settle_seconds: float = Field(
        default=5.0,
        ge=0,
        description="A dropped file is taken once its size and mtime have not changed for this "
        "long (seen unchanged by two polls).",
    )
    source_folder_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders under which drop-folder sources may live (default DATA_DIR/drop).",
    )

    @field_validator("source_allowed_networks", mode="before")
    @classmethod
    def _source_networks(cls, value: object) -> object:
        value = _split_commas(value)
        if isinstance(value, list):
            return [_network(item) if isinstance(item, str) else item for item in value]
        return value

    @field_validator("source_folder_roots", mode="before")
    @classmethod
    def _source_roots_from_commas(cls, value: object) -> object:
        return _split_commas(value)

    @property
    def source_roots(self) -> list[Path]:
        """Where drop folders may be: the configured roots, else ``DATA_DIR/drop``."""
        roots = self.source_folder_roots or [self.data_dir / "drop"]
        return [root.expanduser().resolve() for root in roots]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment the first time they are asked for."""
    return Settings()
