"""Could a dedicated classifier be the crisis second net instead of DIET's `crisis` intent?

    .venv/bin/python -m nlu.evaluation.crisis_second_net

The rules catch most crises; the second net is for the ones they miss. DIET's `crisis` intent does
that job but is confidently wrong on everyday hyperbole ("this exam is killing me"), and calibration
finds no crisis bar below 1.0 that keeps its false alarms under 2 % (thresholds.json). This measures
the obvious alternative the same way: a logistic regression, crisis against everything else, on the
e5 sentence vector the engine already computes plus character 2–4-grams of the folded text, fitted on
the training examples and the crisis development sets (nlu/crisis/dev), scored out of fold (5 folds,
stratified by language and label). Printed per language and probability bar: recall on the
development crisis messages and false alarms on the development hard negatives. Nothing under
tests/data is read.
"""

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bot.settings import get_settings
from nlu.evaluation.datasets import crisis_development_set, training_examples
from nlu.normalise import fold

LANGUAGES = ("da", "ar", "so", "tr", "fa", "en")
BARS = (0.5, 0.7, 0.8, 0.9, 0.95)


def labelled_messages() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, is_crisis, language, is_development) with each folded text once."""
    texts, crisis, languages, development, seen = [], [], [], [], set()

    def add(text: str, is_crisis: bool, language: str, from_development: bool) -> None:
        if (key := fold(text)) not in seen:
            seen.add(key)
            texts.append(text)
            crisis.append(is_crisis)
            languages.append(language)
            development.append(from_development)

    for language in LANGUAGES:
        positives, negatives = crisis_development_set(language)
        for text in positives:
            add(text, True, language, True)
        for text in negatives:
            add(text, False, language, True)
        for example in training_examples(language):
            add(example.text, example.intent == "crisis", language, False)
    return texts, np.array(crisis), np.array(languages), np.array(development)


def out_of_fold(texts: list[str], labels: np.ndarray, strata: np.ndarray, vectors: np.ndarray,
                ngram_weight: float, c: float) -> np.ndarray:
    folded = [fold(text) for text in texts]
    probabilities = np.zeros(len(texts))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, strata):
        ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        train_x = hstack([csr_matrix(vectors[train]), ngram_weight * ngrams.fit_transform([folded[i] for i in train])])
        test_x = hstack([csr_matrix(vectors[test]), ngram_weight * ngrams.transform([folded[i] for i in test])])
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(train_x.tocsr(), labels[train])
        probabilities[test] = model.predict_proba(test_x.tocsr())[:, 1]
    return probabilities


def main() -> None:
    from knowledge.embeddings import shared_embedder

    settings = get_settings()
    texts, crisis, languages, development = labelled_messages()
    vectors = shared_embedder(settings.embedding_model, settings.embedding_models_dir).queries(texts)
    strata = np.array([f"{language}/{label}" for language, label in zip(languages, crisis, strict=True)])
    console = Console()
    for ngram_weight, c in ((0.0, 4.0), (1.0, 4.0), (1.0, 16.0)):
        probabilities = out_of_fold(texts, crisis, strata, vectors, ngram_weight, c)
        table = Table(title=f"Crisis classifier out of fold (e5{' + n-grams' if ngram_weight else ''}, C={c}): "
                            "development recall / false alarms on hard negatives")
        table.add_column("bar")
        for language in LANGUAGES[:5]:
            table.add_column(language, justify="right")
        for bar in BARS:
            cells = []
            for language in LANGUAGES[:5]:
                mine = development & (languages == language)
                recall = np.mean(probabilities[mine & crisis] >= bar)
                alarms = np.mean(probabilities[mine & ~crisis] >= bar)
                cells.append(f"{recall:.2f} / {alarms:.0%}")
            table.add_row(f"{bar:.2f}", *cells)
        console.print(table)


if __name__ == "__main__":
    typer.run(main)
