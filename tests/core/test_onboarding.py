"""«С чего начать»: which steps are ticked, from the facts."""
import pytest

from notifier.core.onboarding import Facts, steps


def _ticks(**kw):
    base = dict(employees=0, rules=0, mail="unconfigured", telegram="unconfigured", events=0)
    return [s.done for s in steps(Facts(**{**base, **kw}))]


@pytest.mark.parametrize("facts, ticks", [
    ({}, [False, False, False, False]),
    ({"employees": 1}, [True, False, False, False]),
    ({"employees": 2, "rules": 1}, [True, True, False, False]),
    # configured is not enough: the test email (or a real send) must have worked
    ({"mail": "configured"}, [False, False, False, False]),
    ({"mail": "error"}, [False, False, False, False]),
    ({"mail": "working"}, [False, False, True, False]),
    ({"telegram": "working"}, [False, False, True, False]),
    ({"mail": "error", "telegram": "working"}, [False, False, True, False]),
    ({"events": 1}, [False, False, False, True]),
    ({"employees": 1, "rules": 1, "mail": "working", "events": 3}, [True, True, True, True]),
])
def test_ticks(facts, ticks):
    assert _ticks(**facts) == ticks


def test_details_say_what_is_true_now():
    s = steps(Facts(employees=0, rules=0, mail="configured", telegram="unconfigured", events=2))
    assert [x.key for x in s] == ["employee", "rule", "channel", "pbx"]
    assert s[0].detail == "сотрудников пока нет"
    assert s[2].detail == "почта: настроено, но ещё не проверено; Telegram: не настроено"
    assert s[3].detail == "событий получено: 2"
