"""The gibberish gate: keyboard mashing falls back; real messages, abbreviations we know and emoji don't."""

import pytest

from nlu.gibberish import default_detector
from nlu.nonsense import random_letters


@pytest.mark.parametrize("text", [
    "jeg leder efter en gruppe for nybagte mødre", "kan i hjælpe mig med min gæld",
    "أبحث عن مجموعة دعم للأمهات الجدد", "ابحث عن مساعدة لترك التدخين",
    "waxaan raadinayaa koox hooyooyin", "sigaarka ayaan joojin rabaa",
    "sigarayı bırakmak istiyorum", "yeni anneler için bir grup arıyorum",
    "دنبال گروه حمایتی برای مادران هستم", "میخوام سیگار رو ترک کنم",
    "hej", "tak", "ok", "mrb", "👍", "🙏🙏", "8220", "Gellerup", "Kopenhag'da",
])
def test_real_messages_pass(text):
    assert default_detector().is_gibberish(text) is False


@pytest.mark.parametrize("text", ["jjjjjjjjjjjj", "fgh dfg sdf", "zxcvbnm qqq", "ثقفغع هخحج", "ژژژ ضضض"])
def test_keyboard_mashing_is_caught(text):
    assert default_detector().is_gibberish(text) is True


def test_most_generated_random_strings_are_caught():
    texts = random_letters(200, seed=99)
    caught = sum(default_detector().is_gibberish(text) for text in texts)
    assert caught / len(texts) >= 0.8
