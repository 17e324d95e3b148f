import re

import pytest
from babel.messages.pofile import read_po

from bot import SUPPORTED_LANGUAGES
from bot.engine.actions import crisis_reply_key, crisis_reply_keys
from bot.i18n.render import LOCALES_DIR, Renderer
from nlu.crisis import CATEGORIES, UNSPECIFIED

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(defaults={"days": 180})


def catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def message_strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_catalogue_is_complete_with_no_fuzzy_entries_and_same_placeholders(language):
    english = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog("en") if m.id}
    translated = catalog(language)
    keys = {m.id if isinstance(m.id, str) else m.id[0] for m in translated if m.id}
    assert keys == set(english), f"{language}: keys differ from English"
    for message in translated:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        assert not message.fuzzy, f"{language}: {key} is fuzzy"
        strings = message_strings(message)
        assert all(s.strip() for s in strings), f"{language}: {key} is untranslated"
        expected = set(PLACEHOLDER.findall(message_strings(english[key])[-1]))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == expected, f"{language}: {key} placeholders differ"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_welcome_and_privacy_notice_are_in_the_language_with_the_retention_period(renderer, language):
    welcome = renderer.render("welcome", language).text
    notice = renderer.render("privacy_notice", language)
    assert "{" not in welcome + notice.text
    assert "180" in notice.text and "STOP" in notice.text
    if language != "en":
        assert welcome != renderer.render("welcome", "en").text
    # Every other language is offered as a button, in its own script.
    assert len(notice.quick_replies) == len(SUPPORTED_LANGUAGES) - 1
    assert renderer.language_name(language, language) not in notice.quick_replies


def test_scripts_match_the_language(renderer):
    arabic_script = re.compile(r"[\u0600-\u06ff]")
    for language in ("ar", "fa"):
        assert len(arabic_script.findall(renderer.render("help", language).text)) > 20
    for language in ("da", "so", "tr"):
        assert not arabic_script.search(renderer.render("help", language).text)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_kind_of_crisis_has_its_emergency_reply_with_the_right_lines(renderer, language):
    """Each kind the crisis rules name (and the classifier's kindless hit) gets 112 and Livslinien; violence
    at home also Lev Uden Vold's 1888, which a medical emergency does not need, nor a psychiatric ward."""
    replies = {kind: renderer.render(crisis_reply_key(kind), language).text for kind in (*CATEGORIES, "classifier")}
    for kind, text in replies.items():
        assert "112" in text and "70 201 201" in text, (kind, text)
    assert "1888" in replies["violence"] and "Lev Uden Vold" in replies["violence"]
    assert "1888" in replies["classifier"] and "Lev Uden Vold" in replies["classifier"]
    assert "1888" not in replies["suicide"] and "1888" not in replies["medical"]
    assert "akutmodtagelse" in replies["suicide"] and "akutmodtagelse" not in replies["medical"]
    # Five kinds, four replies: suicide, self-harm and overdose share one.
    assert replies["suicide"] == replies["self_harm"] == replies["overdose"]
    assert len(set(replies.values())) == 4
    assert crisis_reply_key(None) == crisis_reply_key("classifier") == crisis_reply_key(UNSPECIFIED) == "crisis_any"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_violence_is_followed_by_the_line_for_children_and_young_people(renderer, language):
    """A child writing about a stepfather or a parent who beats them gets BørneTelefonen (116 111) after the
    violence reply; the other kinds get no second message."""
    assert crisis_reply_keys("violence") == ("crisis_violence", "crisis_children_line")
    assert all(crisis_reply_keys(kind) == (crisis_reply_key(kind),)
               for kind in (*CATEGORIES, UNSPECIFIED, "classifier", None) if kind != "violence")
    line = renderer.render("crisis_children_line", language).text
    assert "116 111" in line and "BørneTelefonen" in line and "18" in line


def offer(number: int, languages: list[str]) -> dict:
    return {"id": f"o{number}", "title": f"Offer {number}", "summary": "A group", "contact": "70 10 10 10",
            "languages": languages, "topics": ["loneliness"]}


def test_offer_list_numbers_offers_and_says_when_staff_speak_the_language(renderer):
    message = renderer.render("offer_list", "so", {"offers": [offer(1, ["da", "so"]), offer(2, ["da"])], "start": 4})
    lines = message.text.splitlines()
    assert lines[0] == renderer.plural("offers_found", "offers_found_plural", 2, "so")
    assert "4. Offer 1" in message.text and "5. Offer 2" in message.text
    speaks = renderer.text("offer_speaks_language", "so", language="Soomaali")
    assert message.text.count(speaks) == 1
    assert [o["id"] for o in message.offers] == ["o1", "o2"]


def test_nothing_in_the_municipality_says_so_and_where_each_offer_is(renderer):
    nearby = dict(offer(1, ["da"]), tier="neighbour", place="Holstebro")
    national = dict(offer(2, ["da"]), tier="national", place=None)
    danish = renderer.render("offer_list", "da", {"offers": [nearby, national], "start": 1,
                                                   "municipality": "Lemvig"}).text
    lines = danish.splitlines()
    assert lines[0] == "Jeg fandt ikke noget i Lemvig, men her er andre muligheder:"
    assert lines[1].startswith("1. Offer 1 (i Holstebro): ")
    assert "2. Offer 2 (hele Danmark): " in danish
    somali = renderer.render("offer_list", "so", {"offers": [nearby], "start": 1, "municipality": "Lemvig"}).text
    assert somali.startswith("Waxba kama helin Lemvig") and "(ku yaal Holstebro)" in somali


def test_an_offer_in_the_municipality_gets_the_ordinary_heading_and_no_place(renderer):
    local = dict(offer(1, ["da"]), tier="municipality", place="Aarhus")
    nearby = dict(offer(2, ["da"]), tier="neighbour", place="Favrskov")
    text = renderer.render("offer_list", "en", {"offers": [local, nearby], "start": 1, "municipality": "Aarhus"}).text
    assert text.splitlines()[0] == renderer.plural("offers_found", "offers_found_plural", 2, "en")
    assert "1. Offer 1: " in text and "2. Offer 2 (in Favrskov): " in text
    # Without a municipality every offer is national: no place notes at all.
    plain = renderer.render("offer_list", "en", {"offers": [dict(offer(3, ["da"]), tier="national")], "start": 1}).text
    assert "all of Denmark" not in plain


def test_a_demo_offer_is_marked_in_the_list_and_in_its_details(renderer):
    demo = dict(offer(1, ["da"]), demo=True, how_to_join="Ring", last_verified="2024-01-15")
    for language in SUPPORTED_LANGUAGES:
        notice = renderer.text("offer_demo", language)
        assert notice in renderer.render("offer_list", language, {"offers": [demo], "start": 1}).text
        assert notice in renderer.render("offer_details", language, {"offer": demo}).text
    assert "Example only" not in renderer.render("offer_list", "en", {"offers": [offer(2, ["da"])]}).text


def test_arabic_plural_forms_follow_cldr(renderer):
    one = renderer.plural("offers_found", "offers_found_plural", 1, "ar")
    three = renderer.plural("offers_found", "offers_found_plural", 3, "ar")
    eleven = renderer.plural("offers_found", "offers_found_plural", 11, "ar")
    assert "1" in one and "3" in three and "11" in eleven
    assert len({one.replace("1", "#"), three.replace("3", "#"), eleven.replace("11", "#")}) >= 2


def test_offer_details_formats_the_date_for_the_locale(renderer):
    detail = dict(offer(1, ["da"]), how_to_join="Ring", last_verified="2024-01-15")
    danish = renderer.render("offer_details", "da", {"offer": detail}).text
    turkish = renderer.render("offer_details", "tr", {"offer": detail}).text
    assert "15. januar 2024" in danish
    assert "15 Ocak 2024" in turkish


def test_offer_details_give_address_hours_cost_and_how_to_join(renderer):
    detail = dict(offer(1, ["da"]), how_to_join="Ring først", address="Gellerupparken 1, 8220 Brabrand",
                  hours="tirsdag 10-12", cost="free", last_verified="2024-01-15")
    text = renderer.render("offer_details", "en", {"offer": detail}).text
    assert text.splitlines() == ["Offer 1", "A group", "Address: Gellerupparken 1, 8220 Brabrand",
                                 "Open: tirsdag 10-12", "Free", "How to join: Ring først", "Contact: 70 10 10 10",
                                 "Last checked: January 15, 2024"]
    # Unknown facts leave no empty label behind.
    bare = renderer.render("offer_details", "en", {"offer": dict(offer(2, ["da"]), cost="unknown")}).text
    assert "Address" not in bare and "Open" not in bare and "Free" not in bare


def test_language_menu_lists_languages_in_their_own_script(renderer):
    message = renderer.render("language_menu", "da")
    for name in ("dansk", "العربية", "Soomaali", "Türkçe", "فارسی", "English"):
        assert name in message.text
    assert message.quick_replies == renderer.own_language_names()


def test_a_missing_argument_does_not_break_the_reply(renderer):
    assert "{municipality}" in renderer.render("municipality_noted", "da").text
