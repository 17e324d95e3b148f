import pytest

from knowledge.places import gazetteer
from nlu.language import Guess, choose_language, default_identifier
from nlu.normalise import clean, fold


@pytest.mark.parametrize(("text", "language"), [
    ("jeg føler mig meget ensom", "da"),
    ("jeg vil gerne stoppe med at ryge", "da"),
    ("waxaan rabaa in aan joojiyo sigaarka", "so"),
    ("hooyo cusub baan ahay", "so"),
    ("sigarayi birakmak istiyorum", "tr"),
    ("borçlarım var yardım lazım", "tr"),
    ("أشعر بالوحدة كثيرا", "ar"),
    ("بدي مساعدة بالديون", "ar"),
    ("خیلی تنها هستم", "fa"),
    ("ميخواهم سيگار را ترك كنم", "fa"),  # Arabic letter forms ي/ك typed by a Farsi speaker
])
def test_language_of_ordinary_messages(text, language):
    assert default_identifier().identify(text).language == language


def test_no_language_signal_in_numbers_or_emoji():
    assert default_identifier().identify("2200").language is None
    assert default_identifier().identify("👍🙏").language is None


def test_conversation_keeps_its_language_on_short_or_unclear_messages():
    assert choose_language(Guess("tr", 0.96, 2), "da", "da") == "da"  # "ok" in a Danish conversation
    assert choose_language(Guess(None, 0.0), "so", "da") == "so"
    assert choose_language(Guess("ar", 0.99, 20), "da", "da") == "ar"  # clearly another language
    assert choose_language(Guess("so", 0.4, 20), None, "da") == "da"


def test_clean_keeps_text_but_drops_control_and_zero_width_characters():
    assert clean("  hej\x00 med\u200b  dig \n\n ") == "hej med dig"
    assert clean("مرحبا 👋 hej") == "مرحبا 👋 hej"


def test_fold_unifies_spellings_people_type():
    assert fold("SİL") == fold("sil")
    assert fold("Kræft") == fold("kraeft")
    assert fold("٢٢٠٠") == fold("۲۲۰۰") == "2200"
    assert fold("كوبنهاغن") == fold("کوبنهاغن")
    assert fold("مـــرحبا") == fold("مرحبا")  # tatweel


@pytest.mark.parametrize(("text", "municipality"), [
    ("jeg bor i Odense", "Odense"),
    ("2200", "København"),
    ("٨٢٢٠", "Aarhus"),
    ("Gellerup", "Aarhus"),
    ("we live in hoje taastrup", "Høje-Taastrup"),
    ("أسكن في كوبنهاغن", "København"),
])
def test_places_resolve_to_municipalities(text, municipality):
    place = gazetteer().find(text)
    assert place is not None and place.name == municipality


def test_no_place_in_a_need():
    assert gazetteer().find("jeg har brug for hjælp") is None
