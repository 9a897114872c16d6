"""Organisation-number validation: the brreg mod-11 rule, checked against numbers worked by hand."""

import pytest

from pipelines import orgnr


def mod11_by_hand(number: str) -> bool:
    weights = [3, 2, 7, 6, 5, 4, 3, 2]
    total = sum(int(number[i]) * weights[i] for i in range(8))
    rest = 11 - total % 11
    if rest == 11:
        rest = 0
    return rest != 10 and rest == int(number[8])


@pytest.mark.parametrize("number", ["923609016", "974760673", "984851006"])
def test_known_real_numbers_are_valid(number):
    # Equinor, Brønnøysundregistrene, DNB: public organisation numbers.
    assert orgnr.is_valid(number)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("92360901", "9 digits"),
        ("9236090166", "9 digits"),
        ("92360901A", "digits only"),
        ("923609017", "check digit"),
        (923609016, "string"),
        ("９２３６０９０１６", "digits only"),
    ],
)
def test_bad_numbers_name_the_value_and_the_problem(value, reason):
    with pytest.raises(orgnr.InvalidOrgNumber) as err:
        orgnr.validate(value)
    assert reason in str(err.value)
    assert repr(value) in str(err.value)


def test_every_prefix_agrees_with_the_rule_worked_by_hand():
    for prefix in range(81000000, 81002000):
        try:
            number = orgnr.from_prefix(prefix)
        except orgnr.InvalidOrgNumber:
            assert not any(mod11_by_hand(f"{prefix:08d}{d}") for d in range(10))
            continue
        assert mod11_by_hand(number)
        assert sum(orgnr.is_valid(f"{prefix:08d}{d}") for d in range(10)) == 1


def test_validate_all_reports_every_bad_number():
    with pytest.raises(orgnr.InvalidOrgNumber) as err:
        orgnr.validate_all(["923609016", "123", "92360901X"])
    assert "'123'" in str(err.value) and "'92360901X'" in str(err.value)
