"""What every request is held to before a view runs: ids in URLs and JSON bodies.

Both are installed on the app once (``init_app``), so no route or handler has
to remember them:

- ``<int:...>`` in any route means a database id, 1..MAX_ID. A larger number
  would reach the database as an error (PostgreSQL: "integer out of range";
  the SQLite driver: OverflowError), i.e. a 500; now it is the 404 that an
  unknown id gets anyway, before any view or query runs.
- ``request.get_json()`` anywhere: JSON nested deeper than Python's recursion
  limit (5,000 ``[``) raises RecursionError inside the decoder, which is not
  the ValueError Flask treats as "not JSON"; it becomes one here, so
  ``get_json(silent=True)`` gives None and the caller answers its 400.
"""
from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from notifier.models import MAX_ID


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter limited to ids that can exist.

    Out of range is a 404 raised right here: a plain ValidationError would make
    Werkzeug answer 405 to a PATCH or DELETE whose path was first tried
    against the GET rule of the same URL."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deeply is invalid JSON like any other."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: rules bind their converters when added."""
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
