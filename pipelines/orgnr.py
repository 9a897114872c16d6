"""Norwegian organisation numbers (Brønnøysundregistrene): validation shared by the pipeline,
the CLI and the sandbox, so a bad number is refused before any request is made."""

from __future__ import annotations

WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


class InvalidOrgNumber(ValueError):
    """Raised with a message that names the bad value and what is wrong with it."""


def check_digit(first_eight: str) -> int | None:
    """The mod-11 check digit for the first eight digits, or None when no digit is valid."""
    remainder = sum(int(d) * w for d, w in zip(first_eight, WEIGHTS, strict=True)) % 11
    digit = 0 if remainder == 0 else 11 - remainder
    return None if digit == 10 else digit


def problem(value: object) -> str | None:
    """Why `value` is not a valid organisation number, or None when it is."""
    if not isinstance(value, str):
        return f"must be a string of 9 digits, got {type(value).__name__}"
    if len(value) != 9:
        return f"must have 9 digits, has {len(value)} characters"
    if not value.isascii() or not value.isdigit():
        return "must contain digits only"
    expected = check_digit(value[:8])
    if expected is None or expected != int(value[8]):
        return "has a wrong check digit (brreg mod-11)"
    return None


def is_valid(value: object) -> bool:
    return problem(value) is None


def validate(value: object) -> str:
    """Return `value` unchanged when valid; raise InvalidOrgNumber naming it otherwise."""
    reason = problem(value)
    if reason:
        raise InvalidOrgNumber(f"organisation number {value!r} {reason}")
    return value  # type: ignore[return-value]


def validate_all(values: list[str]) -> list[str]:
    """Validate every number and report all bad ones at once."""
    bad = [f"{v!r} {problem(v)}" for v in values if problem(v)]
    if bad:
        raise InvalidOrgNumber("invalid organisation number(s): " + "; ".join(bad))
    return list(values)


def from_prefix(prefix: int) -> str:
    """Complete an 8-digit prefix into a valid number, or raise when no check digit exists."""
    first_eight = f"{prefix:08d}"
    digit = check_digit(first_eight)
    if digit is None:
        raise InvalidOrgNumber(f"prefix {first_eight} has no valid check digit")
    return first_eight + str(digit)
