"""Normalising values so that equal things compare equal: folded text, e-mails, phones."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Lower-cased, accent-free, single-spaced text: "  Zoë  Ångström " -> "zoe angstrom"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def email(value: str) -> str:
    return value.strip().lower()
