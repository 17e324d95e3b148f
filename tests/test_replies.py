"""Replies as citizens receive them: SMS cost, direction marks, keywords, every key rendered."""

import re

import pytest
from bidi import get_display

from bot import SUPPORTED_LANGUAGES
from bot.i18n import sms
from bot.i18n.bidi import LRM, RLM, protect
from bot.i18n.render import Renderer, shorten
from bot.i18n.samples import samples, sent_keys
from knowledge.catalogue import default_catalogue
from nlu.keywords import KEYWORDS, answer_key, keyword_intent

MESSAGE_KEY = re.compile(r"^[a-z]+(_[a-z]+)+$")
UNRENDERED = re.compile(r"\{\w+\}")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(defaults={"days": 180})


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


# -- segments ---------------------------------------------------------------------------------------
def test_gsm7_fills_160_then_splits_in_153s():
    assert sms.cost("a" * 160) == sms.SmsCost("GSM-7", 160, 1)
    assert sms.cost("a" * 161).segments == 2
    assert sms.cost("a" * 306).segments == 2
    assert sms.cost("a" * 307).segments == 3
    assert sms.cost("Ærø og Åbenrå, én gang").encoding == "GSM-7"


def test_extension_characters_count_twice_and_are_never_split():
    assert sms.cost("€" * 80) == sms.SmsCost("GSM-7", 160, 1)
    # 152 plain septets then "€": the escape pair does not fit in the first part and moves whole.
    assert sms.cost("a" * 152 + "€" + "a" * 152).segments == 3


def test_one_character_outside_gsm7_makes_the_whole_message_ucs2():
    assert sms.cost("a" * 69 + "ş") == sms.SmsCost("UCS-2", 70, 1)
    assert sms.cost("a" * 70 + "ş").segments == 2
    assert sms.cost("ب" * 134).segments == 2 and sms.cost("ب" * 135).segments == 3


def test_an_emoji_is_two_units_and_stays_in_one_segment():
    assert sms.cost("🙂" * 35) == sms.SmsCost("UCS-2", 70, 1)
    # 66 units then an emoji: it does not fit in the first part's 67 and moves whole.
    assert sms.cost("ب" * 66 + "🙂" + "ب" * 60).segments == 2
    assert sms.cost("ب" * 66 + "🙂" + "ب" * 66).segments == 3


def test_sms_text_keeps_latin_languages_in_gsm7():
    turkish = sms.for_sms("Sigarayı bırakmak için yardım – İstanbul’dan “destek”…", "tr")
    assert turkish == "Sigarayi birakmak icin yardim - Istanbul'dan \"destek\"..."
    assert sms.is_gsm7(turkish)
    assert sms.for_sms("Ærø Kommune – Søndergade", "da") == "Ærø Kommune - Søndergade"
    arabic = "اتصل بـ Livslinien – 70 201 201"
    assert sms.for_sms(arabic, "ar") == arabic


# -- direction marks --------------------------------------------------------------------------------
def test_phone_numbers_and_latin_names_keep_their_order_in_arabic_and_farsi():
    text = "اتصل بـ Livslinien على 70 201 201 الآن."
    assert "201 201 70" in get_display(text)  # the scramble the marks prevent
    shown = get_display(protect(text, "ar")).replace(LRM, "").replace(RLM, "")
    assert "70 201 201" in shown and "Livslinien" in shown
    line = protect("1. Røgfri Sammen (Nyborg): کمک برای ترک سیگار", "fa")
    assert line.startswith(RLM) and f"{LRM}1. Røgfri Sammen (Nyborg){LRM}:" in line
    assert protect("Ring 70 201 201", "da") == "Ring 70 201 201"


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_every_line_of_an_rtl_reply_starts_right_to_left(renderer, catalogue, language):
    for sample in samples(renderer, catalogue, language, "web"):
        for line in sample.message.text.split("\n"):
            assert line.startswith(RLM), (sample.key, line)


# -- every key, realistic arguments -----------------------------------------------------------------
@pytest.mark.parametrize("channel", ["web", "sms"])
@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_no_reply_is_a_raw_key_or_has_an_unrendered_placeholder(renderer, catalogue, language, channel):
    seen = set()
    for sample in samples(renderer, catalogue, language, channel):
        text = sample.message.text
        assert text.strip(), (sample.key, sample.label)
        assert not MESSAGE_KEY.match(text.strip(RLM)), (sample.key, text)
        assert not UNRENDERED.search(text), (sample.key, sample.label, text)
        seen.add(sample.key)
    assert seen == set(sent_keys())


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_sms_fits_the_segment_budget(renderer, catalogue, language):
    """≤ 2 segments for Latin-script languages, ≤ 4 for Arabic script, for every key and offer."""
    over = []
    for sample in samples(renderer, catalogue, language, "sms"):
        cost = sms.cost(sample.message.text)
        if cost.segments > sms.budget(language):
            over.append((sample.key, sample.label, cost))
    assert not over, over[:5]
    if language in ("da", "so", "tr", "en"):
        # Only the language menu (names in their own scripts) needs UCS-2 in a Latin-script language.
        assert all(sms.is_gsm7(s.message.text) for s in samples(renderer, catalogue, language, "sms")
                   if s.key != "language_menu")


def test_sms_lists_shorten_summaries_but_keep_name_contact_and_language(renderer, catalogue):
    offers = sorted(catalogue, key=lambda o: len(o.localized("summary", "so")))[-3:]
    cards = [dict(o.card("so"), tier="municipality", place="Odense") for o in offers]
    web = renderer.render("offer_list", "so", {"offers": cards, "start": 1}, "web").text
    text = renderer.render("offer_list", "so", {"offers": cards, "start": 1}, "sms").text
    assert len(text) < len(web) and sms.cost(text).segments <= 2
    for number, card in enumerate(cards, start=1):
        assert f"{number}. {sms.for_sms(card['title'], 'so')}" in text
        if card["contact"] and not card["contact"].startswith("http"):
            assert sms.for_sms(card["contact"], "so") in text


def test_shorten_cuts_at_a_word_and_marks_the_cut():
    assert shorten("Gratis samtaler for dig der har mistet", 20) == "Gratis samtaler for…"
    assert shorten("kort", 20) == "kort" and shorten("kort", 0) == "" and shorten("kort", None) == "kort"


# -- keywords and choices ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "intent"), [
    ("STOP", "opt_out"), ("Stop!", "opt_out"), ("afmeld", "opt_out"), ("START", "greet"),
    ("SLET", "delete_data"), ("Sil", "delete_data"), ("SİL", "delete_data"), ("«حذف»", "delete_data"),
    ("PERSON", "request_human"), ("qof", "request_human"), ("İNSAN", "request_human"), ("شخص", "request_human"),
    ("مشاور", "request_human"), ("flere", "more_results"), ("KALE", "more_results"), ("المزيد", "more_results"),
    ("بیشتر", "more_results"), ("SPROG", "choose_language"), ("DİL", "choose_language"), ("لغه", "choose_language"),
    ("hjaelp", "help"), ("yardim", "help"),
])
def test_keywords_in_every_language(text, intent):
    assert keyword_intent(text) == intent


@pytest.mark.parametrize("text", ["stop smoking", "jeg vil gerne slette min profil hos lægen", "more help with debt",
                                  "person der kan hjælpe", "2", ""])
def test_a_keyword_inside_a_sentence_is_not_a_keyword(text):
    assert keyword_intent(text) is None


def test_every_keyword_our_texts_name_is_understood(renderer):
    """The capitalised words a reply tells the citizen to write (STOP, PERSON, QOF, …) are keywords."""
    known = {answer_key(word) for words in KEYWORDS.values() for word in words}
    yes_no = {answer_key(renderer.text(key, lang))
              for key in ("choice_yes", "choice_no") for lang in SUPPORTED_LANGUAGES}
    for language in SUPPORTED_LANGUAGES:
        for key in sent_keys():
            text = renderer.text(key, language, days=180)
            for word in re.findall(r"\b[A-ZÆØÅİŞĞÇÖÜ]{3,}\b", text):
                if word in ("SMS", "CLAVIS"):
                    continue
                assert answer_key(word) in known | yes_no, (language, key, word)
            # Arabic script has no capitals: there the keywords are quoted (help quotes example needs).
            quoted_words = re.findall(r"[«\"]([^»\"]{2,12})[»\"]", text) if language in ("ar", "fa") else []
            for quoted in quoted_words if key != "help" else []:
                assert answer_key(quoted) in known | yes_no or " " in quoted, (language, key, quoted)


def test_choices_of_a_suggestion_map_numbers_and_labels_to_intents(renderer):
    message = renderer.render("fallback_suggest", "tr", {"suggestions": ["nlu_fallback", "help"], "text": "kira"})
    assert message.quick_replies == [renderer.text("choice_help", "tr"), renderer.text("choice_seek_support", "tr")]
    assert message.choices["1"] == {"intent": "help"}
    # "Find help for this" searches for what the citizen wrote, not for the button's words.
    assert message.choices["2"] == {"intent": "seek_support", "text": "kira"}
    assert message.choices[answer_key(renderer.text("choice_help", "tr"))] == {"intent": "help"}
    # A sentence the model was unsure of always offers "find help for this", next to its likeliest guess.
    unsure = renderer.render("fallback_suggest", "so", {"suggestions": ["more_results", "choose_language", "help"],
                                                        "text": "sidoo kale waxaan rabaa inaan joojiyo sigaarka"})
    assert unsure.quick_replies == [renderer.text("choice_more_results", "so"),
                                    renderer.text("choice_seek_support", "so")]
    assert unsure.choices["2"] == {"intent": "seek_support", "text": "sidoo kale waxaan rabaa inaan joojiyo sigaarka"}
    short = renderer.render("fallback_suggest", "so",
                            {"suggestions": ["more_results", "choose_language"], "text": "kale"})
    assert short.choices["1"] == {"intent": "more_results"} and short.choices["2"] == {"intent": "choose_language"}
    feedback = renderer.render("feedback_ask", "so")
    assert feedback.choices["1"] == {"intent": "affirm"} and feedback.choices["2"] == {"intent": "deny"}
    assert feedback.choices["haa"] == {"intent": "affirm"}
