"""Agencies and outlets, spelt one way each (``Reuters``, ``AP``, ``AFP``, ``dpa``, …)."""

from __future__ import annotations

import re
from functools import lru_cache

#: canonical spelling -> the ways copy writes it (compared case-insensitively)
_AGENCIES: dict[str, tuple[str, ...]] = {
    "Reuters": ("reuters", "thomson reuters", "reuters news"),
    "AP": ("ap", "associated press", "the associated press"),
    "AFP": ("afp", "agence france-presse", "agence france presse", "agence france‑presse"),
    "Bloomberg": ("bloomberg", "bloomberg news"),
    "dpa": ("dpa", "deutsche presse-agentur", "deutsche presse agentur"),
    "Xinhua": ("xinhua", "xinhua news agency"),
    "UPI": ("upi", "united press international"),
    "PA Media": ("pa", "pa media", "press association", "the press association", "pa wire"),
    "EPA": ("epa", "epa-efe", "european pressphoto agency"),
    "EFE": ("efe", "agencia efe"),
    "ANSA": ("ansa",),
    "Kyodo": ("kyodo", "kyodo news"),
    "Yonhap": ("yonhap", "yonhap news agency"),
    "AAP": ("aap", "australian associated press"),
    "TASS": ("tass",),
    "Anadolu": ("anadolu", "anadolu agency", "aa"),
    "CNN": ("cnn",),
    "Getty Images": ("getty images", "getty"),
    "NTB": ("ntb",),
    "STT": ("stt", "stt-info"),
    "ANP": ("anp",),
    "Belga": ("belga",),
    "APA": ("apa",),
    "Jiji": ("jiji", "jiji press"),
    "PTI": ("pti", "press trust of india"),
    "IANS": ("ians",),
    "CP": ("cp", "the canadian press", "canadian press"),
    "NZME": ("nzme",),
}

_LOOKUP: dict[str, str] = {
    variant: canonical for canonical, variants in _AGENCIES.items() for variant in variants
}
_PUNCT = re.compile(r"[\s.·]+")


@lru_cache(maxsize=8192)
def canonical_agency(name: str) -> str | None:
    """The canonical name of an agency, or ``None`` when ``name`` is not one we know."""
    key = _PUNCT.sub(" ", name.strip().strip("()").replace("’", "'")).strip().casefold()
    key = re.sub(r"^www |(?<=\w) (?:com|co uk|org|net)$", "", key)  # "Bloomberg.com" → bloomberg
    return _LOOKUP.get(key) or _LOOKUP.get(key.replace(" ", ""))


def is_agency(name: str) -> bool:
    return canonical_agency(name) is not None


def mentions_agency(text: str, agency: str) -> bool:
    """Does ``text`` name ``agency`` (any of its spellings, as a word)?"""
    variants = _AGENCIES.get(agency, (agency.lower(),))
    low = text.casefold()
    return any(re.search(rf"(?<![\w]){re.escape(v)}(?![\w])", low) for v in variants)
