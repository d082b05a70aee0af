"""Rows the rules tests start from (call inside an app context)."""
from notifier.core.criteria import parse_criteria
from notifier.core.phones import normalize
from notifier.extensions import db
from notifier.models import Rule, Subscriber
from notifier.services.rules import stored


def add_subscriber(number, name="", **fields) -> int:
    sub = Subscriber(number=number, number_key=normalize(number), name=name, **fields)
    db.session.add(sub)
    db.session.commit()
    return sub.id


def add_rule(subscriber_id, **body) -> int:
    """A missed-calls rule unless ``body`` says otherwise (API rule body fields)."""
    rule = Rule(subscriber_id=subscriber_id, criteria=stored(parse_criteria({"types": ["missed_calls"], **body})))
    db.session.add(rule)
    db.session.commit()
    return rule.id
