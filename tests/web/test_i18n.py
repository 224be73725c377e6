"""The pages' language: the switch's cookie, else Accept-Language (q-values), else English;
every message exists in both languages."""

import pytest

from autoresponder.web import i18n


@pytest.mark.parametrize("header,expected", [
    ("pt-PT,pt;q=0.9,en;q=0.8", "pt"),
    ("en-GB,en;q=0.9,pt;q=0.8", "en"),
    ("fr-FR,fr;q=0.9,pt-BR;q=0.7,en;q=0.5", "pt"),
    ("de, en;q=0.1", "en"),
    ("pt;q=0, en;q=0.2", "en"),
    ("", None),
    ("de-DE", None),
    ("pt;q=abc", None),
])
def test_accept_language(header, expected):
    assert i18n.from_accept_language(header) == expected


def test_the_cookie_wins_and_english_is_the_fallback():
    assert i18n.pick("pt", "en") == "pt"
    assert i18n.pick("xx", "pt-BR") == "pt"
    assert i18n.pick(None, "de") == "en"


def test_both_catalogues_have_the_same_messages_and_placeholders():
    import string

    en, pt = i18n.MESSAGES["en"], i18n.MESSAGES["pt"]
    assert set(en) == set(pt)
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for k in en:
        assert fields(en[k]) == fields(pt[k]), k
