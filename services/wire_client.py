"""`syndicate ingest`: post files to a running service, with progress and a summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import requests
import typer


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            )
        else:
            found.append(path)
    return found


def post_files(paths: list[Path], base_url: str, token: str, content_type: str) -> int:
    """Post every file; print what was accepted or refused and why. Exit status 1 on refusals."""
    files = _files(paths)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    outcomes: Counter[str] = Counter()
    refusals: list[str] = []

    def send(path: Path) -> None:
        try:
            response = session.post(
                f"{base_url.rstrip('/')}/v1/wire",
                data=path.read_bytes(),
                headers={"Content-Type": content_type},
                timeout=30,
            )
        except requests.RequestException as exc:
            outcomes["error"] += 1
            refusals.append(f"{path}: {exc}")
            return
        if response.status_code == 202:
            outcomes["accepted"] += 1
            return
        outcomes[f"refused {response.status_code}"] += 1
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text[:200]
        refusals.append(f"{path}: {response.status_code} {detail}")

    if len(files) > 5:
        with typer.progressbar(files, label="posting") as bar:
            for path in bar:
                send(path)
    else:
        for path in files:
            send(path)
    typer.echo(f"{len(files)} files: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    for line in refusals:
        typer.echo(f"  {line}", err=True)
    return 0 if outcomes["accepted"] == len(files) else 1
