"""Generated wire copy for the load bench: varied formats, sections, agencies and credit styles.

Every item is written here from word lists (no third-party text). Each ``copy(seq)`` is a new
story: a unique guid (formats that carry one) and a unique number in the headline (plain text,
whose identity is agency, dateline and headline). Dates are ``now``, so feeds order them as they
arrive. People come from a small pool, so contributor feeds stay few, as on a real wire.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

AGENCIES = {  # as the copy spells them, per style of dateline
    "Reuters": "Reuters",
    "AP": "AP",
    "AFP": "AFP",
    "Bloomberg": "Bloomberg",
    "dpa": "dpa",
    "Xinhua": "Xinhua",
    "UPI": "UPI",
    "PA Media": "PA",
}
SECTIONS = ["World", "Business", "Science", "Sport", "Technology", "Health", "Culture", "Travel"]
PLACES = [
    ("LYON", "France"),
    ("OSAKA", "Japan"),
    ("QUITO", "Ecuador"),
    ("TROMSO", "Norway"),
    ("ACCRA", "Ghana"),
    ("PERTH", "Australia"),
    ("GDANSK", "Poland"),
    ("VALPARAISO", "Chile"),
    ("HALIFAX", "Canada"),
    ("PUNE", "India"),
]
FIRST = ["Ines", "Tomas", "Aiko", "Kwame", "Maren", "Rafael", "Lucia", "Oskar", "Nadia", "Priya"]
LAST = ["Moreau", "Sato", "Andrade", "Boateng", "Lund", "Kowal", "Ferreira", "Haddad", "Iyer"]
BODIES = ["council", "port authority", "rail operator", "university", "water board", "museum"]
VERBS = ["approves", "plans", "delays", "opens", "funds", "reviews"]
THINGS = ["bus shelters", "tram stops", "sea walls", "school roofs", "cycle bays", "wind masts"]
MONTHS = [
    "Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."
]  # fmt: skip


@dataclass(frozen=True)
class Copy:
    """One item to post: its bytes, the Content-Type to send, and what it is about."""

    body: bytes
    content_type: str
    fmt: str
    agency: str
    section: str


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _credit_line(rng: random.Random) -> str:
    """One of several credit styles a wire uses at the foot of a story."""
    a, b, c, d = (_person(rng) for _ in range(4))
    return rng.choice(
        [
            f"(Reporting by {a}; Editing by {b})",
            f"(Reporting by {a} and {b}; Writing by {c}; Editing by {d})",
            f"(Reporting by {a}; Additional reporting by {b}; Editing by {c})",
            f"(Compiled by {a}; Editing by {b})",
            f"(Writing by {a}; Editing by {b} and {c})",
        ]
    )


class WireCopy:
    """Deterministic generator (seeded): the n-th call always yields the same kind of item."""

    def __init__(self, run_tag: str, seed: int = 7) -> None:
        self.run_tag = run_tag
        self.rng = random.Random(seed)
        self.makers = [self._text, self._nitf, self._ninjs, self._newsml_g2, self._rss]

    def copy(self, seq: int, now: datetime | None = None) -> Copy:
        now = now or datetime.now(UTC)
        return self.makers[seq % len(self.makers)](seq, now)

    # --- the story's words -----------------------------------------------------------------

    def _facts(self, seq: int, now: datetime) -> dict[str, str]:
        rng = self.rng
        place, country = rng.choice(PLACES)
        names = list(AGENCIES)
        # the first items name every agency in turn, so a warm-up creates every agency feed
        agency = names[seq % len(names)] if seq < 2 * len(names) else rng.choice(names)
        body, verb, thing = rng.choice(BODIES), rng.choice(VERBS), rng.choice(THINGS)
        count = 12 + seq  # the unique number: identity for copy without a guid
        town = place.title()
        return {
            "agency": agency,
            "tag": AGENCIES[agency],
            "section": rng.choice(SECTIONS),
            "place": place,
            "country": country,
            "headline": f"{town} {body} {verb} {count:,} new {thing}",
            "lead": f"The {body} in {town} {verb} a plan for {count:,} new {thing}, "
            f"officials said on {rng.choice(['Monday', 'Tuesday', 'Thursday', 'Friday'])}.",
            "second": f"Work could start within {rng.randint(2, 30)} months if the budget of "
            f"{rng.randint(3, 900)} million holds, a spokesperson said.",
            "third": f"Residents asked for {thing} for {rng.randint(2, 15)} years.",
            "month": MONTHS[now.month - 1],  # today: feeds order by date
            "day": str(now.day),
            "credit": _credit_line(rng),
            "author": _person(rng),
            "editor": _person(rng),
            "guid": f"bench-{self.run_tag}-{seq}",
        }

    # --- formats ---------------------------------------------------------------------------

    def _text(self, seq: int, now: datetime) -> Copy:
        f = self._facts(seq, now)
        dateline = f"{f['place']}, {f['month']} {f['day']} ({f['tag']}) -"
        text = (
            f"{f['headline']}\n\n{dateline} {f['lead']}\n\n{f['second']}\n\n{f['third']}\n\n"
            f"{f['credit']}\n"
        )
        return Copy(text.encode(), "text/plain", "text", f["agency"], "")

    def _nitf(self, seq: int, now: datetime) -> Copy:
        f = self._facts(seq, now)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        xml = f"""<?xml version="1.0" encoding="utf-8"?>
<nitf version="-//IPTC//DTD NITF 3.4//EN" baselang="en">
  <head>
    <title>{escape(f["headline"])}</title>
    <docdata management-status="usable">
      <doc-id id-string="{f["guid"]}"/>
      <date.issue norm="{stamp}"/>
    </docdata>
  </head>
  <body>
    <body.head>
      <hedline><hl1>{escape(f["headline"])}</hl1></hedline>
      <byline>By {escape(f["author"])}, {escape(f["agency"])}</byline>
      <distributor>{escape(f["agency"])}</distributor>
      <dateline><location>{f["place"]}, {f["country"]}</location></dateline>
    </body.head>
    <body.content>
      <p>{f["place"]}, {f["country"]} ({f["tag"]}) - {escape(f["lead"])}</p>
      <p>{escape(f["second"])}</p>
      <p>{escape(f["third"])}</p>
    </body.content>
  </body>
</nitf>
"""
        return Copy(xml.encode(), "application/nitf+xml", "nitf", f["agency"], "")

    def _ninjs(self, seq: int, now: datetime) -> Copy:
        f = self._facts(seq, now)
        item = {
            "uri": f"https://wire.bench/items/{f['guid']}",
            "type": "text",
            "version": "1",
            "versioncreated": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "pubstatus": "usable",
            "headlines": [{"role": "main", "value": f["headline"]}],
            "service": [{"name": f["section"]}],
            "by": f"By {f['author']} and {f['editor']}",
            "bodies": [
                {
                    "contenttype": "text/plain",
                    "value": f"{f['place']} ({f['tag']}) - {f['lead']}\n\n{f['second']}\n\n"
                    f"{f['third']}",
                }
            ],
            "copyrightholder": f["agency"],
        }
        return Copy(
            json.dumps(item).encode(), "application/ninjs+json", "ninjs", f["agency"], f["section"]
        )

    def _newsml_g2(self, seq: int, now: datetime) -> Copy:
        f = self._facts(seq, now)
        stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:newsml:wire.bench:{f["guid"]}"
  version="1" standard="NewsML-G2" standardversion="2.29" xml:lang="en">
  <itemMeta>
    <itemClass qcode="ninat:text"/>
    <provider literal="{escape(f["agency"])}"/>
    <versionCreated>{stamp}</versionCreated>
    <pubStatus qcode="stat:usable"/>
    <memberOf><name>{f["section"]}</name></memberOf>
  </itemMeta>
  <contentMeta>
    <language tag="en"/>
    <creator type="cpnat:person" role="crol:author"><name>{escape(f["author"])}</name></creator>
    <contributor type="cpnat:person" role="crol:editor"><name>{escape(f["editor"])}</name>
    </contributor>
    <headline>{escape(f["headline"])}</headline>
    <dateline>{f["place"]}, {f["month"]} {f["day"]} ({f["tag"]}) -</dateline>
  </contentMeta>
  <contentSet>
    <inlineXML contenttype="application/xhtml+xml">
      <html xmlns="http://www.w3.org/1999/xhtml"><body>
        <p>{f["place"]}, {f["month"]} {f["day"]} ({f["tag"]}) - {escape(f["lead"])}</p>
        <p>{escape(f["second"])}</p>
        <p>{escape(f["third"])}</p>
      </body></html>
    </inlineXML>
  </contentSet>
</newsItem>
"""
        return Copy(
            xml.encode(), "application/vnd.iptc.g2.newsitem+xml", "newsml-g2", f["agency"],
            f["section"],
        )  # fmt: skip

    def _rss(self, seq: int, now: datetime) -> Copy:
        f = self._facts(seq, now)
        content = (
            f"<p>{f['place']}, {f['month']} {f['day']} ({f['tag']}) - {escape(f['lead'])}</p>"
            f"<p>{escape(f['second'])}</p><p>{escape(f['credit'])}</p>"
        )
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Bench Wire</title>
    <link>https://wire.bench/</link>
    <item>
      <title>{escape(f["headline"])}</title>
      <guid isPermaLink="false">{f["guid"]}</guid>
      <pubDate>{format_datetime(now)}</pubDate>
      <dc:creator>{escape(f["author"])}</dc:creator>
      <category>{f["section"]}</category>
      <description>{escape(f["lead"])}</description>
      <content:encoded><![CDATA[{content}]]></content:encoded>
    </item>
  </channel>
</rss>
"""
        return Copy(xml.encode(), "application/rss+xml", "rss", f["agency"], f["section"])
