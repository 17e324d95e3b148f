"""The quality bars of understanding, on held-out data, with the trained product model.

Same code path as `brobygger evaluate` (language id → crisis rules → gibberish gate → model with the
per-language thresholds); the test sets in tests/data were written independently of the training
data and are never used for tuning. Bars from the NLU issue and DESIGN.md.
"""

import pytest

from bot.settings import get_settings
from nlu.evaluation.datasets import EVALUATED_LANGUAGES
from nlu.evaluation.evaluate import evaluate

pytestmark = pytest.mark.slow

MACRO_F1 = 0.90  # the bar, met in every language
LANGUAGE_ID = 0.97  # the bar, met in every language since Farsi in Latin letters is a candidate
NONSENSE_REJECTED = 0.80
# Regression floors BELOW the bars, which are not met yet (issue 3 stays open): crisis recall
# 1.0 and no false alarm. Measured on both held-out crisis sets (80 crises, 60 hard negatives per
# language): after round 4 of the rules and the classifier's data recall 0.97-1.00 with 3-8 false
# alarms; after round 7 (2026-11-24) recall 0.97-1.00 with 3-7. The crisis screen (rules + classifier)
# does not depend on the dialogue model, so these only move when the rules, the classifier or their
# data do. Raise them when the bars are reached.
CRISIS_RECALL = 0.95
CRISIS_FALSE_ALARMS = 7


@pytest.fixture(scope="module")
def report(trained_model):
    return evaluate(get_settings(), trained_model)


@pytest.mark.parametrize("language", EVALUATED_LANGUAGES)
def test_intents_are_understood_equally_well_in_every_language(report, language):
    result = report["languages"][language]
    assert result["macro_f1"] >= MACRO_F1, result["errors"]


@pytest.mark.parametrize("language", EVALUATED_LANGUAGES)
def test_messages_no_training_example_repeats_are_understood_as_well(report, language):
    """The bar holds without the held-out messages that are also training examples word for word."""
    result = report["languages"][language]
    assert result["n"] - result["seen_in_training"] >= 100
    assert result["unseen_macro_f1"] >= MACRO_F1, result["errors"]


@pytest.mark.parametrize("language", EVALUATED_LANGUAGES)
def test_short_messages_are_told_apart_by_language(report, language):
    assert report["languages"][language]["langid_accuracy"] >= LANGUAGE_ID


@pytest.mark.parametrize("language", EVALUATED_LANGUAGES)
def test_every_crisis_is_caught_and_hard_negatives_are_not(report, language):
    result = report["languages"][language]
    assert result["crisis_recall"] >= CRISIS_RECALL, result["crisis_missed"]
    assert len(result["crisis_false_alarms"]) <= CRISIS_FALSE_ALARMS, result["crisis_false_alarms"]


def test_nonsense_goes_to_fallback_or_out_of_scope(report):
    assert report["nonsense"]["rejected_rate"] >= NONSENSE_REJECTED, report["nonsense"]["accepted"]
