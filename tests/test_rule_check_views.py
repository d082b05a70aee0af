"""«Проверить правило» in the rule dialog: verdicts per chosen employee from
decide, field errors as 422 re-renders, no event ever stored."""
import re

import pytest
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.models import Decision, Delivery, Event, Rule

from .factories import contact, rule, subscriber

HTMX = {"HX-Request": "true"}
THURSDAY_DAY, THURSDAY_NIGHT = "2026-12-03T10:00", "2026-12-03T23:00"
NEW_YEAR = "2027-01-01T10:00"  # a Friday and an official holiday


@pytest.fixture
def people(app):
    return {
        "ivanov": subscriber("101", "Иванов Иван", email="ivanov@example.com", chat_id=42).id,
        "petrova": subscriber("102", "Петрова Анна", email="petrova@example.com").id,
    }


def form(csrf, **fields):
    data = {"csrf_token": csrf, "tab": "criteria", "types": ["missed_calls"], "time_mode": "all",
            "callers_mode": "all", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "action": "check", "check_number": "+7 902 385-52-70", "check_at": THURSDAY_DAY,
            "check_type": "missed_call"}
    data.update(fields)
    return data


def check(client, url="/rules/new", htmx=True, **fields):
    return client.post(url, data=form(client.csrf_token, **fields), headers=HTMX if htmx else {})


def verdicts(html):
    """[(employee, [(verdict, reason), ...]), ...] from the result table."""
    body = html.split('id="rule-check-result"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        who = re.search(r'<th scope="row">([^<]+)', row).group(1).strip()
        cells = re.findall(r'<span class="badge[^"]*">([^<]+)</span>\s*<span class="small">([^<]+)</span>', row)
        rows.append((who, cells))
    return rows


def nothing_stored():
    return [db.session.scalar(select(func.count()).select_from(t)) for t in (Event, Decision, Delivery)] == [0, 0, 0]


def test_the_section_is_in_the_dialog(auth_client, people):
    html = auth_client.get("/rules/new", headers=HTMX).get_data(as_text=True)
    assert "Проверить правило" in html and 'name="check_number"' in html and 'type="datetime-local"' in html
    assert "Проверяется только это правило" in html and "Europe/Moscow" in html
    assert re.search(r'name="check_at" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', html)  # now, by the company clock
    assert 'value="missed_call" checked' in html and "С учётом остальных правил сотрудника" in html


def test_working_hour_and_night_for_an_unsaved_rule(app, auth_client, people):
    subs = [people["ivanov"], people["petrova"]]
    resp = check(auth_client, subscribers=subs, time_mode="work_hours")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<form id="rule-form"')
    assert "четверг, 03.12.2026 10:00 (Europe/Moscow) — рабочее время" in html
    assert verdicts(html) == [
        ("Иванов Иван", [("будет уведомлён", "Событие подходит под правило сотрудника")]),
        ("Петрова Анна", [("будет уведомлён", "Событие подходит под правило сотрудника")])]
    html = check(auth_client, subscribers=subs, time_mode="work_hours", check_at=THURSDAY_NIGHT).get_data(as_text=True)
    assert "23:00 (Europe/Moscow) — нерабочее время" in html
    assert [cells for _, cells in verdicts(html)] == [[("не будет уведомлён", "Вне рабочего времени")]] * 2
    html = check(auth_client, subscribers=subs, time_mode="work_hours", check_at=NEW_YEAR).get_data(as_text=True)
    assert "нерабочее время: Новогодние каникулы" in html
    # the form is given back as it was: employees, criteria, the check's own fields
    assert html.count('name="subscribers"') == 2 and 'value="work_hours" data-reveal="rule-period" checked' in html
    assert 'name="check_number" value="+7 902 385-52-70"' in html and f'value="{NEW_YEAR}"' in html
    assert nothing_stored()


def test_vip_from_the_contacts_table(app, auth_client, people):
    contact("ООО Ромашка", "8 902 385 52 70", vip=True)
    html = check(auth_client, subscribers=[people["ivanov"]], callers_mode="vip").get_data(as_text=True)
    assert "Номер входит в VIP-номера." in html
    assert verdicts(html) == [("Иванов Иван", [("будет уведомлён", "Событие подходит под правило сотрудника")])]
    html = check(auth_client, subscribers=[people["ivanov"]], callers_mode="vip",
                 check_number="+7 902 000-00-00").get_data(as_text=True)
    assert "VIP-номера." not in html.split("rule-check-result")[1]
    assert verdicts(html) == [("Иванов Иван", [("не будет уведомлён", "Номер не входит в VIP-номера")])]


def test_listed_numbers_hidden_caller_and_voicemail(auth_client, people):
    subs = [people["ivanov"]]
    html = check(auth_client, subscribers=subs, callers_mode="listed", numbers=["+7 902 385-52-70"],
                 check_number="89023855270").get_data(as_text=True)
    assert verdicts(html)[0][1] == [("будет уведомлён", "Событие подходит под правило сотрудника")]
    # a number typed but not yet added counts, as on saving
    html = check(auth_client, subscribers=subs, callers_mode="listed", number="101",
                 check_number="101").get_data(as_text=True)
    assert verdicts(html)[0][1][0][0] == "будет уведомлён"
    html = check(auth_client, subscribers=subs, callers_mode="listed", numbers=["101"],
                 check_number="скрыт").get_data(as_text=True)
    assert verdicts(html)[0][1] == [("не будет уведомлён", "Номер вызывающего абонента скрыт")]
    html = check(auth_client, subscribers=subs, check_type="voicemail").get_data(as_text=True)
    assert "Голосовое сообщение: четверг" in html
    assert verdicts(html)[0][1] == [("не будет уведомлён", "Правила абонента не включают этот тип уведомлений")]
    html = check(auth_client, subscribers=subs, types=["voicemail"], check_type="voicemail",
                 check_at=THURSDAY_NIGHT).get_data(as_text=True)
    assert verdicts(html)[0][1][0][0] == "будет уведомлён"


def test_with_the_employees_other_rules(app, auth_client, people):
    day_rule = rule(people["ivanov"], time={"mode": "work_hours"}).id
    night_rule = rule(people["ivanov"], time={"mode": "off_hours"}).id
    # editing the night rule: alone it says no at a working hour; with the day rule, yes
    url = f"/rules/{night_rule}/edit"
    html = check(auth_client, url, time_mode="off_hours", check_all="1").get_data(as_text=True)
    assert "С остальными правилами" in html
    assert verdicts(html) == [("Иванов Иван", [("не будет уведомлён", "В рабочее время"),
                                                ("будет уведомлён", "Событие подходит под правило сотрудника")])]
    # the edited rule's unsaved form replaces it: narrowed to VIP, the night call now fails on the caller
    html = check(auth_client, url, time_mode="off_hours", callers_mode="vip", check_all="1",
                 check_at=THURSDAY_NIGHT).get_data(as_text=True)
    assert verdicts(html) == [("Иванов Иван", [("не будет уведомлён", "Номер не входит в VIP-номера"),
                                                ("не будет уведомлён", "Вне рабочего времени")])]
    # a new rule (create) comes after the saved ones
    html = check(auth_client, subscribers=[people["ivanov"], people["petrova"]], time_mode="period",
                 weekdays=["sat"], check_all="1", check_at=THURSDAY_NIGHT).get_data(as_text=True)
    assert verdicts(html) == [
        ("Иванов Иван", [("не будет уведомлён", "Вне заданного периода"),
                         ("будет уведомлён", "Событие подходит под правило сотрудника")]),
        ("Петрова Анна", [("не будет уведомлён", "Вне заданного периода"),
                          ("не будет уведомлён", "Вне заданного периода")])]
    # without the box: one column only
    html = check(auth_client, url, time_mode="off_hours").get_data(as_text=True)
    assert "С остальными правилами" not in html and len(verdicts(html)[0][1]) == 1
    # bulk edit: both rules take the form's criteria
    html = check(auth_client, "/rules/bulk-edit", ids=[day_rule, night_rule], time_mode="period",
                 weekdays=["sat"], check_all="1").get_data(as_text=True)
    assert verdicts(html) == [("Иванов Иван", [("не будет уведомлён", "Вне заданного периода")] * 2)]
    assert nothing_stored()
    # checking saved nothing
    db.session.expire_all()
    assert [r.criteria["time"]["mode"] for r in db.session.scalars(select(Rule).order_by(Rule.id))] == [
        "work_hours", "off_hours"]


@pytest.mark.parametrize("fields, key, message", [
    ({"check_number": ""}, "check_number", "Введите номер звонящего"),
    ({"check_number": "385-52-70"}, "check_number", "укажите номер с кодом города"),
    ({"check_number": "<script>alert(1)</script>"}, "check_number", "Неверный номер телефона: «&lt;script&gt;"),
    ({"check_at": ""}, "check_at", "Укажите дату и время звонка"),
    ({"check_at": "2026-13-01T10:00"}, "check_at", "Неверные дата и время"),
    ({"check_at": "9999-12-31T23:59"}, "check_at", "Укажите дату с 2000 по 2100 год"),
    ({"check_type": "fax"}, "check_type", "Выберите: пропущенный звонок или голосовое сообщение"),
])
def test_bad_number_or_date_is_a_field_error(app, auth_client, people, fields, key, message):
    for htmx in (True, False):
        resp = check(auth_client, htmx=htmx, subscribers=[people["ivanov"]], **fields)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert f'<p class="field-error" id="err-{key}">' in html and message in html
        assert "rule-check-result" not in html and "Правило не сохранено" not in html
        assert '<details class="rule-check" id="rule-check" open>' in html
    assert nothing_stored()


def test_nothing_to_check_without_employees_or_with_bad_criteria(auth_client, people):
    resp = check(auth_client)
    assert resp.status_code == 422 and "Выберите сотрудников на вкладке «Адреса»." in resp.get_data(as_text=True)
    resp = check(auth_client, subscribers=[people["ivanov"]], time_mode="period", weekdays=[])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Выберите хотя бы один день недели" in html
    assert "Проверить правило нельзя: исправьте отмеченные поля." in html and "Правило не сохранено" not in html
    assert "Критерии правила заполнены с ошибками" in html


def test_without_js_the_page_comes_back_with_the_verdicts(auth_client, people):
    resp = check(auth_client, htmx=False, subscribers=[people["ivanov"]], time_mode="work_hours")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" in html and 'id="rule-dialog" class="modal"' in html
    assert verdicts(html) == [("Иванов Иван", [("будет уведомлён", "Событие подходит под правило сотрудника")])]


def test_check_needs_csrf_and_login(client, auth_client, people):
    data = form("", subscribers=[people["ivanov"]])
    del data["csrf_token"]
    assert auth_client.post("/rules/new", data=data, headers=HTMX).status_code == 400
    assert client.post("/rules/new", data=data).status_code in (302, 400, 401)


def test_names_are_escaped(auth_client, app):
    sid = subscriber("103", "<b>Сидоров</b>", email=None).id
    html = check(auth_client, subscribers=[sid]).get_data(as_text=True)
    assert "&lt;b&gt;Сидоров&lt;/b&gt;" in html and "<b>Сидоров" not in html
