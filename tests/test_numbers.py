"""Which offer a citizen points at, in every language and digit script."""

import pytest

from nlu.numbers import LAST, is_bare_number, offer_number


@pytest.mark.parametrize(("text", "number"), [
    ("nummer 2", 2), ("nr. 3 tak", 3), ("nummer to", 2), ("fortæl mere om den anden", 2), ("den foerste", 1),
    ("٢", 2), ("۲", 2), ("رقم ٣", 3), ("رقم اثنين", 2), ("الثاني من فضلك", 2), ("بالتاني", 2), ("الأولى", 1),
    ("labaad", 2), ("ka saddexaad", 3), ("lambarka 1", 1), ("ta ugu dambeeya", LAST),
    ("ikincisi", 2), ("üçüncüsü lütfen", 3), ("birinci", 1), ("sonuncusu", LAST), ("ikinciyi gönder", 2),
    ("üçüncüsünü istiyorum", 3),
    ("دومی", 2), ("سومی رو بگو", 3), ("شماره ۴", 4), ("اولین", 1),
    ("the second one", 2), ("number five", 5), ("the last one", LAST), ("sidste", LAST),
])
def test_ordinals_and_numbers(text, number):
    assert offer_number(text) == number


@pytest.mark.parametrize("text", ["tell me more", "jeg vil vide mere", "my son needs help", "خيار آخر", "", "😀",
                                  "to af mine venner", "iki çocuğum var"])
def test_no_number_where_none_is_meant(text):
    assert offer_number(text) is None


@pytest.mark.parametrize("text, bare", [("2", True), (" ٢ ", True), ("۲)", True), ("3.", True), ("12", True),
                                        ("123", False), ("nummer 2", False), ("2 børn", False), ("", False)])
def test_a_bare_list_number_is_recognised_in_any_script(text, bare):
    assert is_bare_number(text) is bare
