"""A WebSub subscriber's callback on loopback: answers verification, records distributions."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tests.support.receiver import Received, Receiver


@dataclass
class Callback(Receiver):
    """Echoes ``hub.challenge`` (or ``echo`` when set: a wrong answer); 200 to content."""

    echo: str | None = None

    def __post_init__(self) -> None:
        self.respond = self._answer

    def _answer(self, got: Received) -> tuple[int, bytes]:
        if got.method == "GET":
            if self.echo is not None:
                return 200, self.echo.encode()
            return 200, query_of(got).get("hub.challenge", "").encode()
        return 200, b"thanks"

    def checks(self) -> list[dict[str, str]]:
        """The query of every GET the hub sent (verifications and denials)."""
        return [query_of(r) for r in self.snapshot() if r.method == "GET"]

    def contents(self) -> list[Received]:
        """Every content distribution (POST) received."""
        return [r for r in self.snapshot() if r.method == "POST"]


def query_of(got: Received) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(got.path).query).items()}
