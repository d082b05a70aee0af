"""The one employee search, as a table of queries."""
import pytest

from notifier.extensions import db
from notifier.models import Subscriber
from notifier.services.subscriber_search import search

PEOPLE = [
    dict(number="101", number_key="101", name="Иванов Иван", email="ivanov@example.com", telegram="@ivan_tg"),
    dict(number="+7 902 385-52-70", number_key="+79023855270", name="Петрова Анна", email=None, telegram=None),
    dict(number="102", number_key="102", name="100% Sales_Desk", email="desk@example.com", telegram=None),
]


@pytest.mark.parametrize("query, expected", [
    ("", {"101", "+79023855270", "102"}),
    ("   ", {"101", "+79023855270", "102"}),
    ("иван", {"101"}),
    ("ИВАНОВ", {"101"}),
    ("example.com", {"101", "102"}),
    ("@ivan_tg", {"101"}),
    ("ivan_tg", {"101"}),
    ("385 52", {"+79023855270"}),
    ("8 902 385", {"+79023855270"}),
    ("10", {"101", "102"}),
    ("%", {"102"}),
    ("_", {"101", "102"}),
    ("nobody", set()),
])
def test_search(app, query, expected):
    db.session.add_all(Subscriber(**p) for p in PEOPLE)
    db.session.commit()
    found = {s.number_key for s in db.session.scalars(search(query))}
    assert found == expected
