"""«Email-уведомления» with the Flask client: the list, htmx fragments, the
dialog's actions, 422 re-renders, plain posts without JavaScript, CSRF."""
import json
import re

import pytest
from sqlalchemy import select

from notifier.core.criteria import parse_criteria
from notifier.extensions import db
from notifier.models import Rule

from .factories import rule, subscriber
from .pager_links import page_link

HTMX = {"HX-Request": "true"}


@pytest.fixture
def people(app):
    return {
        "ivanov": subscriber("101", "Иванов Иван", email="ivanov@example.com", chat_id=42).id,
        "petrova": subscriber("102", "Петрова Анна", email="petrova@example.com").id,
        "reserve": subscriber("+7 902 385-52-80", "Резерв", email=None).id,
    }


def rules(app):
    return [(r.subscriber.number, r.criteria) for r in db.session.scalars(select(Rule).order_by(Rule.id))]


def dialog_form(csrf, **fields):
    data = {"csrf_token": csrf, "tab": "addresses", "types": ["missed_calls"], "time_mode": "all",
            "callers_mode": "all", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    data.update(fields)
    return data


def test_empty_state(auth_client):
    html = auth_client.get("/").get_data(as_text=True)
    assert "Уведомления отключены" in html
    assert ("Добавьте абонентов, которые будут получать уведомления о пропущенных звонках "
            "согласно указанным критериям") in html
    assert ">Добавить правило</button>" in html
    assert "<table" not in html


def test_list_shows_employee_criteria_and_telegram_state(app, auth_client, people):
    rule(people["ivanov"], time={"mode": "work_hours"})
    rule(people["petrova"], callers={"mode": "vip"}, time={"mode": "off_hours"})
    html = auth_client.get("/").get_data(as_text=True)
    assert "Уведомляемые адреса" in html and "Критерий уведомлений" in html
    assert "Все пропущенные звонки в рабочее время" in html
    assert "Пропущенные звонки с VIP-номеров в нерабочее время" in html
    assert "ivanov@example.com" in html and "Telegram подключён" in html and "Telegram не подключён" in html
    assert html.count('name="ids"') == 2 and 'id="rules-select-all"' in html
    assert ">Изменить</button>" in html and ">Удалить</button>" in html


def test_filter_returns_the_table_fragment(app, auth_client, people):
    rule(people["ivanov"])
    rule(people["petrova"])
    resp = auth_client.get("/?q=петрова", headers={**HTMX, "HX-Target": "rules-table"})
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith("<form id=\"rules-table\"") and "<html" not in html
    assert "Петрова Анна" in html and "Иванов Иван" not in html
    assert "Ничего не найдено по запросу «nobody»" in auth_client.get(
        "/?q=nobody", headers={**HTMX, "HX-Target": "rules-table"}).get_data(as_text=True)
    # the whole list after a change
    html = auth_client.get("/", headers={**HTMX, "HX-Target": "rules-list"}).get_data(as_text=True)
    assert html.lstrip().startswith("<div id=\"rules-list\"")
    # by subscriber id (links from other screens)
    html = auth_client.get(f"/?subscriber={people['petrova']}").get_data(as_text=True)
    assert "Правила сотрудника Петрова Анна" in html and "Иванов Иван</span>" not in html


def test_pagination(app, auth_client, people):
    for _ in range(55):
        rule(people["ivanov"])
    rule(people["petrova"])
    first = auth_client.get("/").get_data(as_text=True)
    assert first.count('name="ids"') == 50 and "1–50 из 56" in first and "Вперёд" in first
    second = auth_client.get("/?page=2", headers={**HTMX, "HX-Target": "rules-table"}).get_data(as_text=True)
    assert second.count('name="ids"') == 6 and "51–56 из 56" in second and "Петрова Анна" in second
    assert "51–56 из 56" in auth_client.get("/?page=999").get_data(as_text=True)


@pytest.mark.parametrize("by", ["q", "subscriber"])
def test_filter_survives_the_page_links(app, auth_client, people, by):
    for _ in range(55):
        rule(people["ivanov"])
        rule(people["petrova"])
    query = "q=петрова" if by == "q" else f"subscriber={people['petrova']}"
    table = {**HTMX, "HX-Target": "rules-table"}
    first = auth_client.get(f"/?{query}", headers=table).get_data(as_text=True)
    assert "1–50 из 55" in first
    href = page_link(first)
    assert "page=2" in href and (f"subscriber={people['petrova']}" in href if by == "subscriber" else "q=" in href)
    second = auth_client.get(href, headers=table).get_data(as_text=True)
    assert second.count('name="ids"') == 5 and "51–55 из 55" in second
    assert "Петрова Анна" in second and "Иванов Иван" not in second
    assert "page=1" in page_link(second, "prev")


def test_list_queries_do_not_grow_with_rows(app, auth_client, people):
    from sqlalchemy import event

    for _ in range(30):
        rule(people["ivanov"])
        rule(people["petrova"])
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        auth_client.get("/", headers={**HTMX, "HX-Target": "rules-table"})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    rule_queries = [s for s in statements if "rules" in s or "subscribers" in s]
    assert len(rule_queries) <= 4, rule_queries


def test_dialog_fragment_and_bot_hint(app, auth_client, people):
    html = auth_client.get("/rules/new", headers={**HTMX, "HX-Target": "dialog-host"}).get_data(as_text=True)
    assert html.lstrip().startswith('<dialog id="rule-dialog"') and " open>" not in html.split("\n")[1]
    for label in ("Правило уведомлений", "Адреса", "Критерии", "По типу", "Поступившие голосовые сообщения",
                  "Уведомления о пропущенных звонках", "По времени", "Все пропущенные", "В рабочее время",
                  "В нерабочее время", "В заданный период", "По номеру вызывающего абонента", "Все номера",
                  "Указанные номера", "VIP-номера", "Номеров еще нет",
                  "Уведомления будут отправлять на e-mail и в telegram выбранных сотрудников."):
        assert label in html, label
    # neither SMTP nor the bot: the dialog says nothing would be sent (tests/test_first_hour.py has every case)
    assert "ничего не будет отправлено" in html and "/settings/#mail" in html
    app.config["TELEGRAM_BOT_TOKEN"] = "123:abc"  # a token from the environment, the name not known yet
    html = auth_client.get("/rules/new", headers=HTMX).get_data(as_text=True)
    assert "Telegram-бот не подключён" not in html and "чат-бота компании" in html
    app.config["TELEGRAM_BOT_USERNAME"] = "tele2_pbx_bot_test"
    html = auth_client.get("/rules/new", headers=HTMX).get_data(as_text=True)
    assert "Для получения уведомлений в telegram необходимо подключить чат-бота" in html
    assert "@tele2_pbx_bot_test" in html


def test_without_js_the_dialog_is_part_of_the_page(auth_client, people):
    html = auth_client.get("/rules/new").get_data(as_text=True)
    assert "<html" in html and '<dialog id="rule-dialog" class="modal" aria-labelledby="rule-dialog-title" open>' in html


def test_subscriber_search_fragment(auth_client, people):
    html = auth_client.get(f"/rules/subscriber-search?q=10&subscribers={people['ivanov']}").get_data(as_text=True)
    assert f'value="add_subscriber:{people["petrova"]}"' in html
    assert "уже в списке" in html  # Иванов is chosen already
    assert "Резерв" not in html
    assert "Никто не найден" in auth_client.get("/rules/subscriber-search?q=zzz").get_data(as_text=True)
    assert auth_client.get("/rules/subscriber-search?q=").get_data(as_text=True).strip() == ""


def post_dialog(client, url="/rules/new", htmx=True, **fields):
    return client.post(url, data=dialog_form(client.csrf_token, **fields), headers=HTMX if htmx else {})


def test_add_and_remove_subscribers_in_the_dialog(auth_client, people):
    resp = post_dialog(auth_client, action="add_subscriber", q="Петрова")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<form id="rule-form"')
    assert f'name="subscribers" value="{people["petrova"]}"' in html
    # several matches: choose from the list
    resp = post_dialog(auth_client, action="add_subscriber", q="10", subscribers=[people["petrova"]])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Найдено несколько сотрудников" in html
    assert f'value="add_subscriber:{people["ivanov"]}"' in html
    # an exact number wins over partial matches
    html = post_dialog(auth_client, action="add_subscriber", q="8 902 385 52 80").get_data(as_text=True)
    assert f'name="subscribers" value="{people["reserve"]}"' in html
    resp = post_dialog(auth_client, action=f"add_subscriber:{people['ivanov']}", subscribers=[people["petrova"]])
    html = resp.get_data(as_text=True)
    assert html.count('name="subscribers"') == 2
    html = post_dialog(auth_client, action=f"remove_subscriber:{people['petrova']}",
                       subscribers=[people["petrova"], people["ivanov"]]).get_data(as_text=True)
    assert re.findall(r'name="subscribers" value="(\d+)"', html) == [str(people["ivanov"])]
    resp = post_dialog(auth_client, action="add_subscriber", q="nobody")
    assert resp.status_code == 422 and "Сотрудник не найден" in resp.get_data(as_text=True)


def test_add_and_remove_listed_numbers(auth_client, people):
    html = post_dialog(auth_client, action="add_number", number="8 (902) 385-52-70", callers_mode="listed",
                       numbers=["101"]).get_data(as_text=True)
    assert re.findall(r'name="numbers" value="([^"]+)"', html) == ["101", "+7 902 385-52-70"]
    assert 'name="number" value=""' in html and "Номеров еще нет" not in html
    resp = post_dialog(auth_client, action="add_number", number="385-52-70", callers_mode="listed")
    assert resp.status_code == 422 and "укажите номер с кодом города" in resp.get_data(as_text=True)
    html = post_dialog(auth_client, action="remove_number:0", callers_mode="listed",
                       numbers=["101", "+7 902 385-52-70"]).get_data(as_text=True)
    assert re.findall(r'name="numbers" value="([^"]+)"', html) == ["+7 902 385-52-70"]


def test_create_one_rule_per_employee_with_htmx(app, auth_client, people):
    resp = post_dialog(auth_client, subscribers=[people["ivanov"], people["petrova"]], action="save",
                       types=["missed_calls", "voicemail"], time_mode="period", weekdays=["sat", "sun"],
                       **{"from": "22:00", "to": "06:00"}, callers_mode="listed", numbers=["101"],
                       number="+7 902 385 52 70")
    assert resp.status_code == 200 and resp.get_data() == b""
    assert resp.headers["HX-Reswap"] == "none"
    trigger = json.loads(resp.headers["HX-Trigger"])
    assert trigger["rules-changed"]["message"] == "Добавлено правил: 2." and trigger["rule-dialog-close"]
    saved = rules(app)
    assert [number for number, _ in saved] == ["101", "102"]
    assert saved[0][1]["callers"] == {"mode": "listed", "numbers": ["101", "+79023855270"]}
    assert saved[0][1]["time"]["period"]["weekdays"] == ["sat", "sun"]
    html = auth_client.get("/").get_data(as_text=True)
    assert ("Голосовые сообщения и пропущенные звонки с номеров 101, +7 902 385-52-70 по сб, вс с 22:00 до 06:00"
            in html)


def test_create_without_js_redirects_with_a_message(app, auth_client, people):
    resp = post_dialog(auth_client, htmx=False, subscribers=[people["ivanov"]], action="save")
    assert resp.status_code == 302 and resp.location.endswith("/")
    assert "Правило добавлено." in auth_client.get("/").get_data(as_text=True)
    # the default (hidden) button saves too: no action at all
    resp = post_dialog(auth_client, htmx=False, subscribers=[people["petrova"]])
    assert resp.status_code == 302 and len(rules(app)) == 2


@pytest.mark.parametrize("fields, message", [
    ({}, "Добавьте хотя бы одного сотрудника"),
    ({"types": []}, "Выберите хотя бы один тип уведомлений"),
    ({"time_mode": "period", "weekdays": []}, "Выберите хотя бы один день недели"),
    ({"time_mode": "period"}, "Ограничьте период днями недели, временем или датами"),
    ({"time_mode": "period", "from": "10:00", "to": "10:00"}, "Время окончания должно отличаться"),
    ({"time_mode": "period", "start_date": "2027-01-10", "end_date": "2027-01-01"}, "Дата окончания раньше даты начала"),
    ({"callers_mode": "listed"}, "Добавьте хотя бы один номер"),
    ({"callers_mode": "listed", "numbers": ["abc"]}, "Неверный номер телефона"),
    ({"callers_mode": "listed", "number": "12345678901234567890"}, "Неверный номер телефона"),
])
def test_validation_errors_re_render_the_dialog_with_422(app, auth_client, people, fields, message):
    fields = {"subscribers": [people["ivanov"]], **fields} if message != "Добавьте хотя бы одного сотрудника" else fields
    for htmx in (True, False):
        resp = post_dialog(auth_client, htmx=htmx, action="save", **fields)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert message in html and "Правило не сохранено" in html
        assert 'aria-invalid="true"' in html or "has-error" in html
    assert rules(app) == []


def test_errors_switch_to_the_tab_that_has_them(auth_client, people):
    html = post_dialog(auth_client, action="save", tab="addresses", subscribers=[people["ivanov"]],
                       types=[]).get_data(as_text=True)
    assert 'id="tab-criteria" data-tab="criteria" aria-controls="panel-criteria"\n              aria-selected="true"' in html
    assert 'name="tab" value="criteria"' in html


def test_voicemail_only_ignores_time_and_callers(app, auth_client, people):
    resp = post_dialog(auth_client, subscribers=[people["ivanov"]], types=["voicemail"], action="save",
                       callers_mode="listed", numbers=["abc"])
    assert resp.status_code == 200
    assert rules(app)[0][1] == {"types": ["voicemail"], "time": {"mode": "all"}, "callers": {"mode": "all"}}


def test_edit_prefills_and_saves(app, auth_client, people):
    rule_id = rule(people["ivanov"], time={"mode": "period", "period": {"from": "22:00", "to": "24:00"}},
                       callers={"mode": "listed", "numbers": ["+79023855270"]}).id
    html = auth_client.get(f"/rules/{rule_id}/edit", headers=HTMX).get_data(as_text=True)
    assert 'value="period" data-reveal="rule-period" checked' in html
    assert 'name="from" value="22:00"' in html and 'name="to" value="00:00"' in html
    assert 'name="numbers" value="+7 902 385-52-70"' in html
    assert "Иванов Иван" in html and 'name="q"' not in html  # the employee is fixed
    assert ">Сохранить</button>" in html
    resp = post_dialog(auth_client, f"/rules/{rule_id}/edit", action="save", types=["voicemail"])
    assert resp.status_code == 200 and json.loads(resp.headers["HX-Trigger"])["rules-changed"]["message"] == "Правило изменено."
    assert rules(app) == [("101", {"types": ["voicemail"], "time": {"mode": "all"}, "callers": {"mode": "all"}})]
    resp = post_dialog(auth_client, f"/rules/{rule_id}/edit", action="save", types=[])
    assert resp.status_code == 422
    assert auth_client.get("/rules/4242/edit").status_code == 404


def test_bulk_edit_keeps_each_employee(app, auth_client, people):
    ids = [rule(people["ivanov"]).id, rule(people["petrova"], callers={"mode": "vip"}).id]
    html = auth_client.get(f"/rules/bulk-edit?ids={ids[0]}&ids={ids[1]}", headers=HTMX).get_data(as_text=True)
    assert "У отмеченных правил разные критерии" in html and "Изменить правила (2)" in html
    assert "Иванов Иван" in html and "Петрова Анна" in html
    resp = post_dialog(auth_client, "/rules/bulk-edit", action="save", ids=ids, time_mode="work_hours")
    assert resp.status_code == 200
    assert json.loads(resp.headers["HX-Trigger"])["rules-changed"]["message"] == "Изменено правил: 2."
    assert [(n, c["time"]["mode"], c["callers"]["mode"]) for n, c in rules(app)] == [
        ("101", "work_hours", "all"), ("102", "work_hours", "all")]
    # nothing checked
    resp = auth_client.get("/rules/bulk-edit", headers=HTMX)
    assert resp.status_code == 204 and "Отметьте правила" in json.loads(resp.headers["HX-Trigger"])["rules-changed"]["message"]
    assert auth_client.get("/rules/bulk-edit").status_code == 302


def test_delete_asks_for_confirmation_without_js(app, auth_client, people):
    rule_id = rule(people["ivanov"]).id
    resp = auth_client.post(f"/rules/{rule_id}/delete", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 200 and "Удалить правило?" in resp.get_data(as_text=True)
    assert len(rules(app)) == 1
    resp = auth_client.post(f"/rules/{rule_id}/delete", data={"csrf_token": auth_client.csrf_token, "confirmed": "1"})
    assert resp.status_code == 302 and rules(app) == []


def test_delete_and_bulk_delete_with_htmx(app, auth_client, people):
    ids = [rule(people["ivanov"]).id, rule(people["petrova"]).id, rule(people["reserve"]).id]
    resp = auth_client.post(f"/rules/{ids[0]}/delete", data={"confirmed": "1"},
                            headers={**HTMX, "X-CSRFToken": auth_client.csrf_token})
    assert resp.status_code == 200 and "rules-changed" in resp.headers["HX-Trigger"]
    resp = auth_client.post("/rules/bulk-delete", data={"confirmed": "1", "ids": ids[1:]},
                            headers={**HTMX, "X-CSRFToken": auth_client.csrf_token})
    assert json.loads(resp.headers["HX-Trigger"])["rules-changed"]["message"] == "Удалено правил: 2."
    assert rules(app) == []
    assert auth_client.post("/rules/4242/delete", data={"csrf_token": auth_client.csrf_token}).status_code == 404


def test_posts_need_csrf(app, auth_client, people):
    rule_id = rule(people["ivanov"]).id
    for url in ("/rules/new", f"/rules/{rule_id}/edit", f"/rules/{rule_id}/delete", "/rules/bulk-delete",
                "/rules/bulk-edit"):
        resp = auth_client.post(url, data={"confirmed": "1", "ids": [rule_id], "subscribers": [people["ivanov"]],
                                           "types": ["voicemail"]}, headers=HTMX)
        assert resp.status_code == 400, url
    assert len(rules(app)) == 1


def test_pages_need_login(client):
    for url in ("/", "/rules/new", "/rules/subscriber-search?q=1"):
        resp = client.get(url)
        assert resp.status_code in (302, 401), url


# ----------------------------------------------------------------- form <-> API body (pure)

from notifier.web.views.rules import body_of, default_values, values_of  # noqa: E402


@pytest.mark.parametrize("fields, body", [
    ({}, {"types": ["missed_calls"], "time": {"mode": "all"}, "callers": {"mode": "all"}}),
    ({"time_mode": "period", "weekdays": ["sat"], "from": "", "to": ""},
     {"types": ["missed_calls"], "callers": {"mode": "all"},
      "time": {"mode": "period", "period": {"weekdays": ["sat"], "from": None, "to": None,
                                            "start_date": None, "end_date": None}}}),
    # a time input cannot say 24:00: an end of 00:00 is midnight
    ({"time_mode": "period", "from": "22:00", "to": "00:00", "start_date": "2026-12-30"},
     {"types": ["missed_calls"], "callers": {"mode": "all"},
      "time": {"mode": "period", "period": {"weekdays": list(default_values()["weekdays"]), "from": "22:00",
                                            "to": "24:00", "start_date": "2026-12-30", "end_date": None}}}),
    # a number typed but not added counts
    ({"callers_mode": "listed", "numbers": ["101"], "number": " 102 "},
     {"types": ["missed_calls"], "time": {"mode": "all"}, "callers": {"mode": "listed", "numbers": ["101", " 102 "]}}),
    ({"callers_mode": "vip", "numbers": ["101"]},
     {"types": ["missed_calls"], "time": {"mode": "all"}, "callers": {"mode": "vip"}}),
])
def test_body_of_form_values(fields, body):
    assert body_of({**default_values(), **fields}) == {**body, "morning_digest": False}


@pytest.mark.parametrize("criteria, expected", [
    ({"types": ["voicemail"]}, {"types": ["voicemail"]}),
    ({"types": ["missed_calls"], "time": {"mode": "period", "period": {"weekdays": ["mon"]}}},
     {"time_mode": "period", "weekdays": ["mon"], "from": "", "to": ""}),
    ({"types": ["missed_calls"], "time": {"mode": "period", "period": {"from": "22:00", "to": "24:00"}}},
     {"from": "22:00", "to": "00:00"}),
    ({"types": ["missed_calls"], "time": {"mode": "period", "period": {"from": "22:00", "to": "06:00",
                                                                     "end_date": "2027-01-08"}}},
     {"from": "22:00", "to": "06:00", "start_date": "", "end_date": "2027-01-08"}),
    ({"types": ["missed_calls"], "callers": {"mode": "listed", "numbers": ["+79023855270"]}},
     {"callers_mode": "listed", "numbers": ["+7 902 385-52-70"]}),
])
def test_values_of_stored_criteria_round_trip(criteria, expected):
    values = values_of(criteria)
    assert {k: values[k] for k in expected} == expected
    assert parse_criteria(body_of(values)) == parse_criteria(criteria)


def test_control_characters_in_searches_are_harmless(app, auth_client, people):
    rule(people["ivanov"])
    assert "Иванов Иван" in auth_client.get("/?q=ив%00ан").get_data(as_text=True)
    assert "Иванов Иван" in auth_client.get("/rules/subscriber-search?q=%00иван").get_data(as_text=True)
    resp = post_dialog(auth_client, action="add_subscriber", q="\x00Петрова")
    assert resp.status_code == 200 and f'value="{people["petrova"]}"' in resp.get_data(as_text=True)
    resp = post_dialog(auth_client, action="save", subscribers=[people["ivanov"]], time_mode="period",
                       **{"from": "\x00"}, callers_mode="listed", numbers=["\x00"])
    assert resp.status_code == 422


def test_bulk_edit_opens_from_a_plain_post(app, auth_client, people):
    ids = [rule(people["ivanov"]).id, rule(people["petrova"]).id]
    resp = auth_client.post("/rules/bulk-edit", data={"csrf_token": auth_client.csrf_token, "ids": ids,
                                                      "action": "open"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" in html and "Изменить правила (2)" in html
    assert "Правило не сохранено" not in html
    assert re.findall(r'name="ids" value="(\d+)">', html)[:2] == [str(i) for i in ids]
