"""Every user-facing string exists in French and German: no untranslated or fuzzy entry, and compiled catalogues
that match their sources."""

import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def entries(po: Path):
    """(flags, msgid, msgstrs) for each entry of a .po file, parsed well enough for these checks."""
    text = po.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        msgid = "".join(re.findall(r'^(?:msgid|msgid_plural)?\s*"(.*)"$', block.split("msgstr")[0], re.M))
        msgstrs = [
            "".join(re.findall(r'"(.*)"', part)) for part in re.split(r"^msgstr(?:\[\d\])? ", block, flags=re.M)[1:]
        ]
        if msgstrs:
            yield flags, msgid, msgstrs


@pytest.mark.parametrize("language", ["fr", "de"])
def test_catalogue_is_complete(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    found = list(entries(po))
    assert len(found) > 100
    for flags, msgid, msgstrs in found:
        assert "fuzzy" not in flags, msgid
        if msgid:
            assert all(msgstrs), f"untranslated in {language}: {msgid!r}"
            for placeholder in re.findall(r"%\(\w+\)[sd]|\{\{ ?\w+ ?\}\}", msgid):
                assert any(placeholder in s for s in msgstrs), (language, msgid, placeholder)


@pytest.mark.parametrize("language", ["fr", "de"])
def test_compiled_catalogue_is_up_to_date(language):
    folder = LOCALE / language / "LC_MESSAGES"
    assert (folder / "django.mo").stat().st_mtime >= (folder / "django.po").stat().st_mtime - 1
