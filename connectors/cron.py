"""Validate five-field cron expressions, the format of ``schedule`` in the source registry.

Fields are minute, hour, day of month, month and day of week. Each field is ``*`` or a
comma-separated list of values and ranges (``a-b``), each optionally followed by ``/step``.
Months accept ``JAN``-``DEC`` and days of week ``SUN``-``SAT`` (0 and 7 are both Sunday).
Macros such as ``@daily`` and a sixth seconds field are rejected.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["validate_cron"]


class _FieldSpec(NamedTuple):
    name: str
    minimum: int
    maximum: int
    aliases: dict[str, int]


_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

_FIELDS = (
    _FieldSpec("minute", 0, 59, {}),
    _FieldSpec("hour", 0, 23, {}),
    _FieldSpec("day of month", 1, 31, {}),
    _FieldSpec("month", 1, 12, {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}),
    _FieldSpec("day of week", 0, 7, {name: number for number, name in enumerate(_DAY_NAMES)}),
)


def validate_cron(expression: str) -> None:
    """Raise ValueError naming the bad field unless ``expression`` is a valid five-field cron expression."""
    if not isinstance(expression, str):
        raise ValueError(f"cron schedule must be a string, got {expression!r}")
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        raise ValueError(
            f"cron schedule {expression!r} has {len(fields)} fields; expected 5 "
            "(minute hour day-of-month month day-of-week)"
        )
    for text, spec in zip(fields, _FIELDS):
        for item in text.split(","):
            if not _is_valid_item(item, spec):
                raise ValueError(
                    f"cron schedule {expression!r} has an invalid {spec.name} field {text!r}; "
                    f"values must be from {spec.minimum} to {spec.maximum}"
                )


def _is_valid_item(item: str, spec: _FieldSpec) -> bool:
    base, has_step, step = item.partition("/")
    if has_step and not (step.isascii() and step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True

    start_text, is_range, end_text = base.partition("-")
    start = _parse_value(start_text, spec)
    if start is None:
        return False
    if not is_range:
        return True
    end = _parse_value(end_text, spec)
    return end is not None and start <= end


def _parse_value(text: str, spec: _FieldSpec) -> int | None:
    alias = spec.aliases.get(text.upper())
    if alias is not None:
        return alias
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if spec.minimum <= value <= spec.maximum else None
