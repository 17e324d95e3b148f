"""Crisis rules: data checks, behaviour on training data, and the held-out hard negatives."""

import time

import pytest

from bot import SUPPORTED_LANGUAGES
from nlu.crisis import DEV_DIR, MINIMAL_PAIRS_DIR, RULE_CATEGORIES, RULES_DIR, UNSPECIFIED, CrisisRules, default_rules
from nlu.evaluation.datasets import EVALUATED_LANGUAGES, crisis_development_set, training_examples


def test_every_language_has_rules_in_every_category():
    rules = default_rules().rules
    for language in SUPPORTED_LANGUAGES:
        assert (RULES_DIR / f"{language}.yml").exists()
        categories = {rule.category for rule in rules if rule.language == language}
        assert categories == set(RULE_CATEGORIES), f"{language}: {set(RULE_CATEGORIES) - categories} missing"


@pytest.mark.parametrize(("text", "category"), [
    ("red mig", UNSPECIFIED), ("نجاتم بدید", UNSPECIFIED), ("الحقوني!!", UNSPECIFIED), ("i badbaadiya 🙏", UNSPECIFIED),
    ("acil yardım lazım", UNSPECIFIED), ("save me", UNSPECIFIED),
    # a cry for rescue gives way to a rule that names the kind, wherever that rule stands
    ("imdat annem bayıldı, nefes almıyor", "medical"), ("red mig, han slår mig", "violence"),
    ("النجدة، بدي انتحر", "suicide"),
])
def test_a_cry_for_rescue_names_no_kind_unless_another_rule_does(text, category):
    assert default_rules().check(text).category == category


@pytest.mark.parametrize("text", ["hjælp", "hjælp mig", "ساعدوني", "i caawi", "yardım edin", "کمکم کنید", "help me",
                                  "kan nogen hjælpe mig med at finde en mødregruppe", "akut hjælp til husleje?"])
def test_asking_for_help_with_the_assistant_is_no_cry_for_rescue(text):
    assert default_rules().check(text) is None


# Training examples of `seek_support` that describe violence at home going on, which the screen answers as a
# crisis since round 11 (README, Crisis). Their label predates that policy; relabelled or removed, the retrained
# dialogue model fell below the held-out nonsense floor (0.74 < 0.80) although it rejected as much of the
# development nonsense (0.848 against 0.832), so the labels wait for the next retraining. The rules fire on them
# (the screen decides before the model), and nothing else may join this list unnoticed.
LABELLED_BEFORE_ROUND_11 = {
    "da": {"min mand slaar mig nogen gange, hvem kan jeg tale med"},
    "ar": {"زوجي يضربني من زمان وانا خايفه احكي لحدا"},
    "tr": {"kocam bana vuruyor ama kimseye anlatamadım"},
    "fa": {"شوهرم منو کتک میزنه، نمیدونم به کی بگم"},
    "en": {"my husband hit me sometimes, I dont know what to do"},
}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_rules_catch_every_crisis_training_example_and_nothing_else(language):
    rules = default_rules()
    pending = LABELLED_BEFORE_ROUND_11.get(language, set())
    examples = training_examples(language)
    assert pending <= {e.text for e in examples if e.intent == "seek_support"}
    for example in examples:
        fired = rules.check(example.text)
        if example.intent == "crisis" or example.text in pending:
            assert fired, f"missed: {example.text}"
        else:
            assert fired is None, f"false alarm ({fired.rule_id}) on {example.intent}: {example.text}"


def test_rules_handle_hostile_input_quickly():
    rules = default_rules()
    started = time.perf_counter()
    for text in ("", "😀" * 500, "a" * 2000, "\u200f\u200e" * 300, "ha " * 700, "ي" * 2000):
        assert rules.check(text) is None
    # A guard against catastrophic backtracking (which on 2,000 characters runs for hours), not a benchmark: an
    # honest run takes ~1.5 s, and 4.7 s on this 2-core machine busy with other work (round 14); speed is in
    # `make bench`.
    assert time.perf_counter() - started < 60


def test_a_rule_with_an_exception_does_not_fire_on_it(tmp_path):
    (tmp_path / "xx.yml").write_text(
        "language: xx\nrules:\n  - id: xx-die\n    category: suicide\n    pattern: '\\bdie\\b'\n"
        "    unless: 'laugh'\n", encoding="utf-8")
    rules = CrisisRules.load(tmp_path)
    assert rules.check("I want to die").rule_id == "xx-die"
    assert rules.check("I could die laughing") is None


def test_a_list_of_alternatives_reads_as_one_regex(tmp_path):
    (tmp_path / "xx.yml").write_text(
        "language: xx\nrules:\n  - id: xx-die\n    category: suicide\n    pattern:\n      - '\\bdie\\b'\n"
        "      - '\\bend it\\b'\n    unless:\n      - 'laugh'\n"
        "      - '^(?![\\s\\S]*\\btonight\\b)[\\s\\S]*\\bmovie\\b'\n",
        encoding="utf-8")
    rules = CrisisRules.load(tmp_path)
    assert rules.check("I want to end it").rule_id == "xx-die"
    assert rules.check("I could die laughing") is None
    assert rules.check("in the movie they die") is None
    assert rules.check("after the movie I will die tonight").rule_id == "xx-die"


@pytest.mark.parametrize("alternatives", ["[]", "['(a', 'b)']", "['a', '']"])
def test_a_list_with_a_broken_or_empty_alternative_is_refused(tmp_path, alternatives):
    # "(a" and "b)" would join into the valid "(a|b)": each alternative must stand alone
    (tmp_path / "xx.yml").write_text(
        f"language: xx\nrules:\n  - {{id: a, category: suicide, pattern: {alternatives}}}\n", encoding="utf-8")
    with pytest.raises(ValueError):
        CrisisRules.load(tmp_path)


def test_a_named_fragment_is_written_once_and_put_in_where_it_is_used(tmp_path):
    (tmp_path / "xx.yml").write_text(
        "language: xx\nfragments:\n  when: '(now|tonight)'\n  plea: '(please|{when})'\n"
        "rules:\n  - id: xx-die\n    category: suicide\n    pattern: ['\\bdie {when}\\b', '^help {plea}$']\n"
        "    unless: '\\bmovie {when}'\n", encoding="utf-8")
    rules = CrisisRules.load(tmp_path)
    assert rules.rules[0].pattern.pattern == r"\bdie (now|tonight)\b|^help (please|(now|tonight))$"
    assert rules.check("I will die tonight").rule_id == "xx-die"
    assert rules.check("help tonight").rule_id == "xx-die"
    assert rules.check("the movie tonight: they die now") is None
    assert rules.check("help me") is None


@pytest.mark.parametrize("file", [
    "language: xx\nrules:\n  - {id: a, category: suicide, pattern: 'die {when}'}\n",  # never named
    "language: xx\nfragments:\n  plea: '{when}'\n  when: now\nrules:\n  - {id: a, category: suicide, pattern: x}\n",
    "language: xx\nfragments:\n  When: now\nrules:\n  - {id: a, category: suicide, pattern: x}\n",
    "language: xx\nfragments:\n  when: '(now'\nrules:\n  - {id: a, category: suicide, pattern: 'die {when}'}\n",
])
def test_an_unknown_misnamed_or_broken_fragment_is_refused(tmp_path, file):
    (tmp_path / "xx.yml").write_text(file, encoding="utf-8")
    with pytest.raises(ValueError):
        CrisisRules.load(tmp_path)


def test_unknown_categories_and_duplicate_ids_are_refused(tmp_path):
    (tmp_path / "xx.yml").write_text("language: xx\nrules:\n  - {id: a, category: sadness, pattern: x}\n")
    with pytest.raises(ValueError, match="unknown category"):
        CrisisRules.load(tmp_path)
    (tmp_path / "xx.yml").write_text("language: xx\nrules:\n  - {id: a, category: suicide, pattern: x}\n"
                                     "  - {id: a, category: suicide, pattern: y}\n")
    with pytest.raises(ValueError, match="duplicate"):
        CrisisRules.load(tmp_path)


# Development crises (round 7: answers in the middle of a chat) that only the turn before shows to be
# dangerous: every rule that caught them would also fire on ordinary messages. The rule writers left
# them to the classifier (at most five per language) and said why; a new miss is not allowed here.
LEFT_TO_THE_CLASSIFIER = {
    "da": {"Jeg søger en frivillig til lektiehjælp... nej vent. Min mand kommer nu. Han sagde han gør det "
           "færdigt i dag"},  # "gøre det færdigt" is finishing a job or homework
    "so": {"wan idin dhaafayaa, nabad galyo",  # "I'll leave you now, goodbye" ends ordinary chats
           "haa, labada xaashi oo dhan",  # "yes, both sheets": blister packs only after the question
           "telefoonkii wuu iga qaaday",  # "he took my phone": a child, a thief or a colleague
           "haa weli albaabka ayuu taagan yahay"},  # "yes, he is still at the door": a delivery too
    "tr": {"bu gece cocuklar uyuyunca"},  # "tonight when the children sleep": an answer to "when can you talk?"
    "fa": {"کمک"},  # "help" alone is the help intent thousands of times; too short for the classifier too
}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_rules_alone_catch_every_development_crisis_and_no_hard_negative(language):
    """The development sets (nlu/crisis/dev) are what the rules are tuned on; tests/data/crisis stays unseen."""
    import yaml

    assert yaml.safe_load((DEV_DIR / f"{language}.yml").read_text(encoding="utf-8"))["language"] == language
    if language in EVALUATED_LANGUAGES:
        # Round 8's minimal pairs tune the rules but not the classifier (nlu/crisis/classifier.py says why).
        pairs = yaml.safe_load((MINIMAL_PAIRS_DIR / f"{language}.yml").read_text(encoding="utf-8"))
        assert pairs["language"] == language and min(len(pairs["crisis"]), len(pairs["not_crisis"])) >= 100
    crises, calm = crisis_development_set(language)  # both files
    assert len(crises) >= 50 and len(calm) >= 50
    rules = default_rules()
    missed = {text for text in crises if rules.check(text) is None}
    false_alarms = [f"{rules.check(text).rule_id}: {text}" for text in calm if rules.check(text)]
    left = LEFT_TO_THE_CLASSIFIER.get(language, set())
    assert left <= set(crises) and len(left) <= 5
    assert missed == left, f"{len(missed - left)} missed: {sorted(missed - left)}; now caught: {sorted(left - missed)}"
    assert not false_alarms, f"{len(false_alarms)} false alarms: {false_alarms}"


@pytest.mark.parametrize("text", [
    # a crisis word inside an everyday word
    "ابني يستخدم الهاتف كثير",  # يستخدم (uses) ends in دم (blood)
    "عدم الاهتمام كثير عند ابني",  # عدم (lack)
    "دموعي كثير هالايام",  # دموع (tears)
    "we walk on Tuesdays in odd weeks",  # "odd" is not "OD'd"
    "günlük hayatta yardım eden bir gönüllü",  # günlük hayatta (daily life) is not "gun ... haya" (Somali)
    # a chronic condition, an everyday ending
    "neefta ayaa i haysa, waxaan maqlay koox hees ah oo sambabada loogu talagalay",  # I have asthma: the lung choir
    "ramazan bitti artik, hoscakalin",  # Ramadan is over, goodbye
    "borcumu ödedim, artık rahatım",  # I paid my debt, now I am relieved
    "min computer er død igen, er der IT-hjælp for seniorer?",
])
def test_everyday_text_with_crisis_words_does_not_fire(text):
    assert default_rules().check(text) is None


@pytest.mark.parametrize("text", [
    # the crisis word on its own
    "الدم كثير ما بوقف", "ودمه عم يسيل", "I OD'd on my pills",
    # acute, short, or once known only to the classifier
    "neeftu way i qabatay hadda",  # the breath seized me now
    "herkese mektup yazdım, eşyalarımı dağıttım, artık hazırım",
    "çocuklarıma birer mektup bıraktım, artık hiçbir şeyin anlamı yok",
    "er låst inde",  # locked in, two words: only the rules read it
    "eks står udenfor",
    "astma anfald hjelp",
])
def test_these_crises_fire(text):
    assert default_rules().check(text) is not None


@pytest.mark.parametrize("language", EVALUATED_LANGUAGES)
def test_the_validation_set_shares_no_message_with_what_is_tuned_or_tested(language):
    """nlu/crisis/validation (with its ordinary chat messages and its crises labelled by kind) chooses and checks
    the classifier's bar: a message the rules or the classifier learnt from (training examples, development
    sets) would flatter it, one from tests/data/crisis would turn a held-out message into a tuning one."""
    from nlu.crisis import CATEGORIES
    from nlu.evaluation.datasets import (
        crisis_set,
        crisis_validation_chat,
        crisis_validation_kinds,
        crisis_validation_set,
    )
    from nlu.normalise import fold

    crises, calm = crisis_validation_set(language)
    chat = crisis_validation_chat(language)  # ordinary chat, three words or more: what the classifier reads
    kinds = crisis_validation_kinds(language)
    assert len(crises) >= 70 and len(calm) >= 70 and len(chat) >= 70
    assert all(len(text.split()) >= 3 for text in chat)
    assert set(kinds) == set(CATEGORIES) and all(len(texts) >= 9 for texts in kinds.values())
    labelled = [text for texts in kinds.values() for text in texts]
    assert len({fold(text) for text in labelled}) == len(labelled)  # one kind per message
    developed, developed_calm = crisis_development_set(language)
    held_crises, held_calm = crisis_set(language)
    seen = {fold(e.text) for e in training_examples(language)}
    seen |= {fold(text) for text in developed + developed_calm + held_crises + held_calm}
    assert not {fold(text) for text in crises + calm + chat + labelled} & seen
    assert not {fold(text) for text in labelled} & {fold(text) for text in crises + calm + chat}
