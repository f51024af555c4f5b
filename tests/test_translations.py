"""Every user-facing string exists in French and German: no untranslated or fuzzy entry, compiled catalogues that say
what their sources say (compared entry by entry: file times are equal on a fresh clone), Swiss German spelling, and
French punctuation with its no-break space."""

import re
from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ["fr", "de"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{ ?\w+ ?\}\}")


def po_file(language) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def mo_file(language) -> polib.MOFile:
    return polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))


def translations(entry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def key(entry) -> tuple:
    return entry.msgctxt, entry.msgid, entry.msgid_plural


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    po = po_file(language)
    entries = [entry for entry in po if not entry.obsolete]
    assert len(entries) > 100
    for entry in entries:
        assert "fuzzy" not in entry.flags, (language, entry.msgctxt, entry.msgid)
        assert all(translations(entry)), f"untranslated in {language}: {entry.msgctxt or ''} {entry.msgid!r}"
        for placeholder in PLACEHOLDER.findall(entry.msgid + entry.msgid_plural):
            assert any(placeholder in text for text in translations(entry)), (language, entry.msgid, placeholder)


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language):
    """The .mo holds every translated .po entry with the same translation, and nothing else (fuzzy entries are
    never compiled): a .po edited without running compilemessages fails here, whatever the files' times."""
    source = {
        key(entry): translations(entry)
        for entry in po_file(language)
        if entry.msgid and not entry.obsolete and "fuzzy" not in entry.flags and all(translations(entry))
    }
    compiled = {key(entry): translations(entry) for entry in mo_file(language) if entry.msgid}
    missing = sorted(str(k) for k in source.keys() - compiled.keys())
    assert not missing, f"{language}: in the .po but not in the .mo (run compilemessages): {missing[:5]}"
    stale = sorted(str(k) for k in compiled.keys() - source.keys())
    assert not stale, f"{language}: in the .mo but no longer in the .po: {stale[:5]}"
    differ = [k for k in source if source[k] != compiled[k]]
    assert not differ, f"{language}: the .mo says something else than the .po for {differ[:5]}"


def test_two_meanings_of_one_english_word_have_two_contexts():
    for language, expected in {
        "de": {("noun", "Order"): "Bestellung", ("verb", "Order"): "Bestellen", ("recipient", "To"): "Empfänger"},
        "fr": {("noun", "Order"): "Commande", ("verb", "Order"): "Commander", ("recipient", "To"): "Destinataire"},
    }.items():
        compiled = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in mo_file(language)}
        for (context, word), translation in expected.items():
            assert compiled[(context, word)] == translation, (language, context, word)
        assert compiled[("end date", "To")] in {"Bis", "Au"}


def test_swiss_german_writes_ss():
    for entry in mo_file("de"):
        for text in translations(entry):
            assert "ß" not in text, entry.msgid


# French typography: a no-break space before ":" (U+00A0) and before ";", "!" and "?" (U+00A0 or the narrow U+202F), so
# that the sign is never alone at the start of a line. Where the sign ends a phrase: "https://" or "10:30" are not.
FRENCH_SIGN = re.compile(r"(?P<before>.)(?P<sign>[:;!?])(?=\s|$|<|»)")
NO_BREAK = {":": {"\u00a0"}, ";": {"\u00a0", "\u202f"}, "!": {"\u00a0", "\u202f"}, "?": {"\u00a0", "\u202f"}}


def badly_spaced(text: str) -> list[str]:
    return [
        text[max(0, m.start() - 15) : m.end()]
        for m in FRENCH_SIGN.finditer(text)
        if m["before"] not in NO_BREAK[m["sign"]]
    ]


def test_french_punctuation_has_its_no_break_space():
    """Scans the compiled French catalogue (what the pages get): every ``:``, ``;``, ``!`` and ``?`` that ends a
    phrase — at the end of a label above all — follows a no-break space, never a plain space or a letter."""
    wrong = {}
    for entry in mo_file("fr"):
        for text in translations(entry):
            if bad := badly_spaced(text):
                wrong[entry.msgid] = bad
    assert not wrong, wrong


def test_the_french_scan_finds_what_it_looks_for():
    assert badly_spaced("Total :") and badly_spaced("Total:") and badly_spaced("Vraiment ?") and badly_spaced("Oui!")
    assert badly_spaced("enregistré; suite") and badly_spaced("Payée : <strong>")
    assert not badly_spaced("Total\u00a0:") and not badly_spaced("Vraiment\u202f?") and not badly_spaced("a\u00a0; b")
    assert not badly_spaced("https://example.ch à 10:30") and badly_spaced("Total\u202f:")  # ":" takes U+00A0
