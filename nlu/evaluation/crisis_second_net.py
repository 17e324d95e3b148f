"""The crisis classifier's trade-off between caught crises and false alarms.

    .venv/bin/python -m nlu.evaluation.crisis_second_net               # out of fold, a few settings
    .venv/bin/python -m nlu.evaluation.crisis_second_net --validation  # the product's screen, per bar

With --validation it scores the product's screen (the rules, then the fitted classifier from the model
folders) on the validation set (nlu/crisis/validation), which neither learns from, for a range of
bars: the table the bar in nlu/crisis/classifier.py was checked against (round 8); then how many of the
search's development queries, ordinary help requests, and of the ordinary chat messages in
nlu/crisis/validation/chat it reads as a crisis; and whether the emergency reply fits the kind of crisis
(nlu/crisis/validation/kinds). Nothing under tests/data is read.

The crisis second net (nlu/crisis/classifier.py) is a logistic regression, crisis against everything
else, on the e5 sentence vector plus character 2–4-grams of the folded text, fitted on the training
examples and the crisis development sets (nlu/crisis/dev). This scores it out of fold (5 folds,
stratified by language and label) for a few settings and prints, per language and probability bar,
the recall on the development crisis messages and the false alarms on the development hard
negatives. These negatives were written to fool the rules, so the rates are pessimistic; the choice
of the product's bar is explained in nlu/crisis/classifier.py. The last column counts alarms on the
development nonsense (nlu/crisis/dev/nonsense.txt, never trained on) by any fold's model. Nothing
under tests/data is read.
"""

from collections import Counter

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from sklearn.model_selection import StratifiedKFold

from bot.settings import get_settings
from knowledge.text_classifier import Rows, VectorNgramClassifier
from nlu.crisis import DEV_DIR, CrisisMatch
from nlu.crisis.classifier import BAR, LANGUAGES, C, training_messages
from nlu.crisis.screen import CrisisScreen, long_enough

# Nonsense a helper wrote for development (keyboard mashing, word salad, lorem ipsum): no crisis in it.
NONSENSE_FILE = DEV_DIR / "nonsense.txt"

BARS = tuple(sorted({0.5, BAR, 0.7, 0.8, 0.9, 0.95}))


def out_of_fold(texts: list[str], labels: np.ndarray, strata: np.ndarray, vectors: np.ndarray,
                ngram_weight: float, c: float, unseen: list[str], unseen_vectors: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(crisis) of the training texts, and the highest any fold's model gives each unseen text."""
    probabilities, highest = np.zeros(len(texts)), np.zeros(len(unseen))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, strata):
        rows = Rows(vectors[train], labels[train].astype(np.float32)[:, None], 1.0, [texts[i] for i in train])
        model = VectorNgramClassifier.fit([rows], c=c, ngram_weight=ngram_weight, min_df=1,
                                          class_weight="balanced", max_iter=3000)
        probabilities[test] = model.probabilities(vectors[test], [texts[i] for i in test])[:, 0]
        highest = np.maximum(highest, model.probabilities(unseen_vectors, unseen)[:, 0])
    return probabilities, highest


VALIDATION_BARS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def screens() -> list[tuple[str, float | None]]:
    """The rows of the --validation tables: the rules alone (bar None), then the rules with the classifier at
    each bar, the product's marked."""
    return [("rules alone", None), *((f"rules + classifier ≥ {bar:.2f}" + (" (product)" if bar == BAR else ""), bar)
                                     for bar in VALIDATION_BARS)]


def validation_table(settings, console: Console) -> None:
    """Missed crises / alarms on the validation set per language, for the rules alone and for the rules
    with the classifier at each bar (the screen's own order: a rule hit needs no classifier)."""
    from knowledge.embeddings import embedder_for
    from nlu.crisis import default_rules
    from nlu.crisis.classifier import load_or_fit
    from nlu.evaluation.datasets import EVALUATED_LANGUAGES, crisis_validation_set

    embedder = embedder_for(settings)
    classifier = load_or_fit(embedder, [settings.models_dir, settings.model_cache_dir])
    rules = default_rules()
    screen = CrisisScreen(rules, classifier, embedder.queries)
    sets = {language: crisis_validation_set(language) for language in EVALUATED_LANGUAGES}
    texts = [text for crises, calm in sets.values() for text in crises + calm]
    probability = {text: p for text, p in zip(texts, screen.classifier_probabilities(texts), strict=True)
                   if p is not None}
    ruled = {text for text in texts if rules.check(text)}
    table = Table(title=f"Crisis screen on the validation set ({classifier.name}): missed crises / alarms")
    table.add_column("screen", no_wrap=True)
    for language in EVALUATED_LANGUAGES:
        table.add_column(language, justify="right")
    table.add_column("all", justify="right")
    for label, bar in screens():
        fired = ruled if bar is None else ruled | {text for text, p in probability.items() if p >= bar}
        cells, missed, alarms = [], 0, 0
        for crises, calm in sets.values():
            language_missed = sum(text not in fired for text in crises)
            language_alarms = sum(text in fired for text in calm)
            cells.append(f"{language_missed}/{len(crises)} · {language_alarms}/{len(calm)}")
            missed, alarms = missed + language_missed, alarms + language_alarms
        table.add_row(label, *cells, f"{missed} · {alarms}")
    console.print(table)
    help_requests_table(screen, console)
    chat_table(screen, console)
    kinds_table(screen, console)


def help_requests_table(screen: CrisisScreen, console: Console) -> None:
    """How many ordinary help requests (the search's development queries, knowledge/eval/dev_queries.yml:
    "my son uses drugs", "pregnant and afraid of the birth") the screen reads as a crisis, per language
    and bar. A citizen asking for a group then gets the emergency reply instead of offers. Some of
    these requests describe violence at home ("he hits me when he is drunk"), which the development sets
    count as a crisis, so the right number is not zero; the table shows where it stands."""
    from knowledge.search.evaluation import load_queries
    from knowledge.search.topics import TOPIC_EXAMPLES_FILE  # the search's development queries

    queries = load_queries(TOPIC_EXAMPLES_FILE)
    readings_table("Help requests (knowledge/eval/dev_queries.yml) the screen reads as a crisis",
                   [(query.language, query.text) for query in queries], screen, console)


def chat_table(screen: CrisisScreen, console: Console) -> None:
    """How many ordinary chat messages of three words or more (nlu/crisis/validation/chat: goodbyes, thanks,
    yes and no, questions about an offer) the screen reads as a crisis, per language and bar. None is a
    crisis, so the right number is zero; goodbyes ("I have to go now, take care") read like farewells."""
    from nlu.evaluation.datasets import EVALUATED_LANGUAGES, crisis_validation_chat

    readings_table("Ordinary chat messages (nlu/crisis/validation/chat) the screen reads as a crisis",
                   [(language, text) for language in EVALUATED_LANGUAGES for text in crisis_validation_chat(language)],
                   screen, console)


REPLY_FITS = ("its own reply", "the reply for any kind", "another kind's reply", "missed")


def reply_fit(kind: str, match: CrisisMatch | None) -> str:
    """Which of REPLY_FITS a crisis of this kind gets from the screen's match. The reply for any kind (112,
    Livslinien and Lev Uden Vold: the classifier's, or a cry for rescue) is never wrong, only less pointed."""
    from bot.engine.actions import CRISIS_REPLY_ANY_KIND, crisis_reply_key

    if match is None:
        return REPLY_FITS[3]
    reply = crisis_reply_key(match.category)
    if reply == crisis_reply_key(kind):
        return REPLY_FITS[0]
    return REPLY_FITS[1] if reply == CRISIS_REPLY_ANY_KIND else REPLY_FITS[2]


def kinds_table(screen: CrisisScreen, console: Console) -> None:
    """Per language, how the product's screen answers crises labelled by kind (nlu/crisis/validation/kinds):
    suicide, self-harm and overdose share a reply, violence and acute illness have their own."""
    from nlu.evaluation.datasets import EVALUATED_LANGUAGES, crisis_validation_kinds

    table = Table(title="Does the emergency reply fit the kind of crisis? (nlu/crisis/validation/kinds)")
    table.add_column("language")
    for fit in REPLY_FITS:
        table.add_column(fit, justify="right")
    totals = Counter()
    for language in EVALUATED_LANGUAGES:
        labelled = [(kind, text) for kind, texts in crisis_validation_kinds(language).items() for text in texts]
        matches = screen.check_all([text for _, text in labelled])
        fits = Counter(reply_fit(kind, match) for (kind, _), match in zip(labelled, matches, strict=True))
        totals += fits
        table.add_row(language, *(str(fits[fit]) for fit in REPLY_FITS))
    table.add_row("all", *(str(totals[fit]) for fit in REPLY_FITS))
    console.print(table)


def readings_table(title: str, messages: list[tuple[str, str]], screen: CrisisScreen, console: Console) -> None:
    """Per language and screen row (screens()), how many of these (language, text) messages fire."""
    languages = sorted({language for language, _ in messages})
    texts = [text for _, text in messages]
    ruled = [screen.rules_match(text) is not None for text in texts]
    probabilities = screen.classifier_probabilities(texts)
    table = Table(title=title)
    table.add_column("screen", no_wrap=True)
    for language in languages:
        table.add_column(language, justify="right")
    table.add_column("all", justify="right")
    for label, bar in screens():
        fired = [rule or (bar is not None and p is not None and p >= bar)
                 for rule, p in zip(ruled, probabilities, strict=True)]
        cells = [f"{sum(f for f, (lang, _) in zip(fired, messages, strict=True) if lang == language)}/"
                 f"{sum(lang == language for lang, _ in messages)}" for language in languages]
        table.add_row(label, *cells, f"{sum(fired)}/{len(messages)}")
    console.print(table)


def main(validation: bool = typer.Option(False, help="score the product's screen on the validation set")) -> None:
    from knowledge.embeddings import embedder_for

    settings = get_settings()
    if validation:
        validation_table(settings, Console(width=160))
        return
    texts, crisis, languages, development = training_messages()
    embedder = embedder_for(settings)
    vectors = embedder.queries(texts)
    nonsense = [line.strip() for line in NONSENSE_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    nonsense_vectors = embedder.queries(nonsense)
    read = np.array([long_enough(text) for text in nonsense])  # what the screen would pass to the classifier
    strata = np.array([f"{language}/{label}" for language, label in zip(languages, crisis, strict=True)])
    console = Console()
    for ngram_weight, c in ((0.0, 4.0), (1.0, 4.0), (1.0, C)):
        probabilities, nonsense_probabilities = out_of_fold(texts, crisis, strata, vectors, ngram_weight, c,
                                                            nonsense, nonsense_vectors)
        table = Table(title=f"Crisis classifier out of fold (e5{' + n-grams' if ngram_weight else ''}, C={c}): "
                            "development recall / false alarms on hard negatives")
        table.add_column("bar")
        for language in LANGUAGES[:5]:
            table.add_column(language, justify="right")
        table.add_column("nonsense alarms", justify="right")
        for bar in BARS:
            cells = []
            for language in LANGUAGES[:5]:
                mine = development & (languages == language)
                recall = np.mean(probabilities[mine & crisis] >= bar)
                alarms = np.mean(probabilities[mine & ~crisis] >= bar)
                cells.append(f"{recall:.2f} / {alarms:.0%}")
            cells.append(f"{np.sum(read & (nonsense_probabilities >= bar))}/{len(nonsense)}")
            table.add_row(f"{bar:.2f}", *cells)
        console.print(table)


if __name__ == "__main__":
    typer.run(main)
