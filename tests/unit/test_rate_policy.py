import pytest

from slo_engine.rate_policy import InvalidRateError, RatePolicy, parse_rate


@pytest.mark.parametrize(
    ("text", "capacity", "period"),
    [
        ("10/minute", 10, 60),
        ("5/second", 5, 1),
        ("60", 60, 60),
        (" 100 / hours ", 100, 3600),
        ("1000/DAY", 1000, 86400),
    ],
)
def test_parses_the_documented_forms(text: str, capacity: int, period: int) -> None:
    assert parse_rate(text) == RatePolicy(capacity, period)


@pytest.mark.parametrize("text", ["", "ten/minute", "10/fortnight", "0/minute", "-1", "10/"])
def test_rejects_anything_else(text: str) -> None:
    with pytest.raises(InvalidRateError):
        parse_rate(text)


def test_refill_rate_is_the_capacity_per_period() -> None:
    assert parse_rate("10/minute").refill_per_second == pytest.approx(1 / 6)
    assert str(parse_rate("10/minute")) == "10/minute"
