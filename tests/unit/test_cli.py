"""The pure commands: `syndicate parse` and `syndicate attribution` (no Redis involved)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from services.cli import cli

DATA = Path(__file__).parents[1] / "data"
runner = CliRunner()


def test_parse_prints_the_story_json() -> None:
    result = runner.invoke(cli, ["parse", str(DATA / "republished.txt")])
    assert result.exit_code == 0, result.output
    story = json.loads(result.output)
    assert story["headline"].startswith("Lighthouse Keepers Return")
    assert story["publisher"] == "Harbour Town Daily"
    assert story["version"] == 1
    assert story["id"].startswith("st_")
    assert story["credit_line"].startswith("Reporting by Reuters;")


def test_parse_of_several_files_prints_an_array() -> None:
    result = runner.invoke(
        cli, ["parse", str(DATA / "republished.txt"), str(DATA / "plain_wire.txt")]
    )
    assert result.exit_code == 0, result.output
    assert [s["agency"] for s in json.loads(result.output)] == ["Reuters", "dpa"]


def test_parse_reports_unparseable_files_and_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    result = runner.invoke(cli, ["parse", str(empty)])
    assert result.exit_code == 1
    assert "no text" in result.output


def test_attribution_from_arguments_and_stdin() -> None:
    result = runner.invoke(cli, ["attribution", "(Reporting by Ana Lima; Editing by Cy Dore)"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "contributors": [
            {"name": "Ana Lima", "role": "reporting", "kind": "person"},
            {"name": "Cy Dore", "role": "editing", "kind": "person"},
        ],
        "credit_line": "Reporting by Ana Lima; Editing by Cy Dore",
    }
    piped = runner.invoke(cli, ["attribution"], input="Writing by A B\nnobody here\n")
    lines = [json.loads(line) for line in piped.output.splitlines()]
    assert [line["credit_line"] for line in lines] == ["Writing by A B", "nobody here"]
    assert lines[1]["contributors"] == []


def test_parse_of_a_file_holding_several_stories_prints_an_array() -> None:
    result = runner.invoke(cli, ["parse", str(DATA / "formats" / "feed_atom.xml")])
    assert result.exit_code == 0, result.output
    stories = json.loads(result.output)
    assert [s["headline"] for s in stories] == [
        "Seals return to the sandbank",
        "Lighthouse repainted",
    ]


def test_parse_with_a_forced_format(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"  # HTML that a .txt name and plain detection would not call HTML
    page.write_text(
        (DATA / "formats" / "article.html").read_text(encoding="utf-8").split("\n", 1)[1]
    )
    result = runner.invoke(cli, ["parse", "--format", "html", str(page)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["publisher"] == "Valley Courier"
    refused = runner.invoke(cli, ["parse", "--format", "wordperfect", str(page)])
    assert refused.exit_code != 0 and "--format" in refused.output


def test_the_installed_syndicate_command_runs() -> None:
    """The distribution installs a `syndicate` command (pyproject's [project.scripts])."""
    import subprocess
    import sys

    command = Path(sys.executable).parent / "syndicate"
    assert command.exists(), "pip install did not put a `syndicate` command beside python"
    result = subprocess.run(
        [str(command), "attribution", "(Reporting by Ana Lima)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout)["credit_line"] == "Reporting by Ana Lima"
