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


@pytest.mark.parametrize("text, language", [
    # Danish words and place names inside another language do not make the message Danish.
    ("lægen ma fahmo waxaan leeyahay, turjubaan sidee loo helaa", "so"),
    ("guri ma haysto, herberg København xaggee ku yaal", "so"),
    ("kommune'den mektup geldi kontanthjælp kesilecekmis", "tr"),
    ("Brøndby'de ev sahibi beni evden cikarmak istiyor", "tr"),
    # ... while Danish with the same words stays Danish.
    ("jeg forstår ikke brevet fra kommunen om kontanthjælp", "da"),
    ("lægen siger jeg skal tabe mig, findes der et hold i Brøndby", "da"),
    ("pårørende", "da"),
])
def test_embedded_danish_words_do_not_decide_the_language(text, language):
    assert default_identifier().identify(text).language == language


@pytest.mark.parametrize("text, language", [
    # Farsi typed in Latin letters ("Finglish") is Farsi, and the reply comes in Farsi script ...
    ("man tanha zendegi mikonam va kheili narahatam", "fa"),
    ("mikham sigar ro tark konam, komak mikhastam", "fa"),
    # ... while Somali, Turkish and Danish with the same loanwords stay what they are.
    ("salaan, waxaan u baahanahay caawimaad dhakhtar", "so"),
    ("selam, sigarayi birakmak icin yardim istiyorum", "tr"),
    ("hej, jeg mangler hjaelp til at finde en laege", "da"),
])
def test_farsi_in_latin_letters(text, language):
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
    # the spellings, every language and script
    ("8220", "Aarhus"),
    ("Brabrand", "Aarhus"),
    ("آرهوس", "Aarhus"),
    ("Orhus", "Aarhus"),
    ("Kopenhag", "København"),
    ("کپنهاگ", "København"),
    ("كوبنهاغن", "København"),
    # grammar glued to the name
    ("aarhusta oturuyorum", "Aarhus"),
    ("Kopenhag'da yaşıyorum", "København"),
    ("ben esbjergdeyim", "Esbjerg"),
    ("بكوبنهاغن", "København"),
    ("وفي آرهوس", "Aarhus"),
    ("Odenses sundhedshus", "Odense"),
    ("Aarhus ayaan ku noolahay", "Aarhus"),
    ("در اودنسه زندگی میکنم", "Odense"),
    # misspelt
    ("Koebenhaven", "København"),
    ("kobenhavn", "København"),
    ("Aalborj", "Aalborg"),
    ("Esbjærg", "Esbjerg"),
    ("sogeplejerske i Holstebro", "Holstebro"),
    # Persian digits, a postcode in a sentence, and a clash settled by another name
    ("کد پستی من ۵۰۰۰ است", "Odense"),
    ("jeg bor i 8220 brabrand", "Aarhus"),
    ("Hasle ved Aarhus", "Aarhus"),
    ("Hasle på Bornholm", "Bornholm"),
])
def test_places_resolve_to_municipalities(text, municipality):
    place = gazetteer().find(text)
    assert place is not None and place.name == municipality


@pytest.mark.parametrize("text", [
    "jeg har brug for hjælp",
    "kan en rådgiver ringe til mig",  # Ringe is a town
    "give me a real person",  # Give is a town
    "tell my kids I love them",  # Them is a town
    "jeg har ondt i halsen",  # Hals is a town
    "kan du skrive på arabisk",  # one letter from Skive
    "jeg skylder 2000 kr",  # an amount, not Frederiksberg's postcode
    "1000 tak",
    "i 2019 mistede jeg min mand",  # a year
    "holding hands",  # one letter from Kolding, but not its first
    "😀😀", "", "ok",
])
def test_ordinary_words_and_numbers_are_not_places(text):
    assert gazetteer().match(text) is None


def test_an_ambiguous_name_lists_its_candidates():
    found = gazetteer().match("jeg bor i Hasle")
    assert found.municipality is None
    assert {m.name for m in found.candidates} == {"Aarhus", "Bornholm"}


def test_every_municipality_is_known_with_region_and_neighbours_nearest_first():
    g = gazetteer()
    assert len(g.municipalities) == 98
    assert {m.region for m in g.municipalities.values()} == {
        "Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"}
    for name in g.municipalities:
        assert g.find(name).name == name
    assert [m.name for m in g.neighbours("Lemvig")] == ["Struer", "Holstebro"]
    assert g.neighbours("Bornholm") == []
