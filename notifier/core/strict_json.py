"""Strict JSON for bodies that end up in the database: no NaN/Infinity, no
numbers that overflow a float, no lone surrogates (no database stores them).

Shared by the JSON webhook and the PBX adapters that receive JSON."""
from __future__ import annotations

import json
import math
from typing import Any


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def loads(text: str) -> Any:
    """The decoded value; raises ValueError for anything that is not strict JSON."""
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if "\\u" in text:  # escapes may smuggle lone surrogates
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (UnicodeEncodeError, RecursionError, ValueError):
            raise ValueError("not valid Unicode") from None
    return data
