"""Every sample under ../shared/corpus parses, or is one we quarantine for a reason we expect;
and the agencies' own version sequences do what they mean."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.decide import decide, story_id_for
from services.ingest.formats import ParseContext, parse
from shared.errors import ParseError
from tests.conftest import CORPUS

NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: samples that are no story, and the reason they are quarantined with
QUARANTINED = {
    "reuters_KBN0FL0NM_v10_package.xml": "packageItem",
    "reuters_LYNXMPEA6F0MS_v2_picture.xml": "picture",
    "reuters_channel1_listing.xml": "no vocabulary",
}
NOT_SAMPLES = (".expected.json", ".tsv", ".md", ".jsonl")


def samples() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and not p.name.endswith(NOT_SAMPLES))


@pytest.mark.parametrize("path", samples(), ids=lambda p: p.name)
def test_every_sample_parses_or_is_quarantined_for_its_reason(corpus_dir: Path, path: Path) -> None:
    if path.name in QUARANTINED:
        with pytest.raises(ParseError) as info:
            parse(path.read_bytes(), ParseContext(NOW))
        assert QUARANTINED[path.name] in info.value.detail
        return
    drafts = parse(path.read_bytes(), ParseContext(NOW))
    assert drafts
    for draft in drafts:
        assert draft.headline
        assert decide(None, draft, now=NOW).story is not None


def test_reuters_correction_then_withdrawal_of_one_guid(corpus_dir: Path) -> None:
    folder = corpus_dir / "superdesk"
    (corrected,) = parse(
        (folder / "reuters_L1N14N0FF_v978556838_corrected.xml").read_bytes(), ParseContext(NOW)
    )
    (canceled,) = parse(
        (folder / "reuters_L1N14N0FF_v1542761538_canceled.xml").read_bytes(), ParseContext(NOW)
    )
    assert story_id_for(corrected) == story_id_for(canceled)
    assert corrected.signal == "correction"
    assert corrected.correction is not None and "corrects last paragraph" in corrected.correction
    assert not any("corrects last paragraph" in b.text for b in corrected.body)
    first = decide(None, corrected, now=NOW)
    killed = decide(first.story, canceled, now=NOW)
    assert killed.outcome == "kill" and killed.story is not None
    assert killed.story.status == "withdrawn"
    # the older corrected version arriving again after the kill changes nothing
    assert decide(killed.story, corrected, now=NOW).outcome in ("stale", "duplicate")


def test_nitf_management_status_canceled_is_a_kill(corpus_dir: Path) -> None:
    (draft,) = parse(
        (corpus_dir / "superdesk" / "nitf_canceled_fishing.xml").read_bytes(), ParseContext(NOW)
    )
    assert draft.signal == "kill"


def test_ap_media_item_and_feed_page_name_one_story(corpus_dir: Path) -> None:
    folder = corpus_dir / "superdesk"
    (item,) = parse((folder / "ap_media_text_item.json").read_bytes(), ParseContext(NOW))
    (listed,) = parse((folder / "ap_media_text_feed.json").read_bytes(), ParseContext(NOW))
    assert story_id_for(item) == story_id_for(listed)


def test_newsml_g2_message_holds_several_stories(corpus_dir: Path) -> None:
    drafts = parse(
        (corpus_dir / "superdesk" / "ap_newsmlg2_newsMessage.xml").read_bytes(), ParseContext(NOW)
    )
    assert len(drafts) >= 2 and len({d.guid for d in drafts}) == len(drafts)


def test_the_same_file_twice_is_one_story(corpus_dir: Path) -> None:
    for path in samples():
        if path.name in QUARANTINED:
            continue
        first = [story_id_for(d) for d in parse(path.read_bytes(), ParseContext(NOW))]
        again = [story_id_for(d) for d in parse(path.read_bytes(), ParseContext(NOW))]
        assert first == again, path.name
