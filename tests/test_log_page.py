"""«Журнал» page: list, filters (htmx and plain GET), detail, «Повторить», polling, escaping."""
import re

import pytest

from notifier.extensions import db
from notifier.models import Delivery
from notifier.pipeline.queueing import QUEUE_NAMES, get_queue
from tests import event_log_data as data
from tests import factories
from tests.pager_links import page_link

POLL = 'hx-trigger="every 2s"'
HTMX_LIST = {"HX-Request": "true", "HX-Target": "log-results"}
HTMX_DETAIL = {"HX-Request": "true", "HX-Target": "event-detail"}


@pytest.fixture
def logged(app):
    """An employee, a VIP client, a delivered event, a failed one and an unnotified one."""
    ivanov = factories.subscriber("102", "Иванов Иван", "ivanov@example.com")
    petrova = factories.subscriber("103", "Петрова Анна", "petrova@example.com")
    factories.contact("ООО Ромашка", "+7 902 385 52 70", vip=True)
    ok = data.event("evt-ok", caller="101", decisions=[(ivanov, True, "notify")], deliveries=[
        {"subscriber": ivanov, "channel": "email", "status": "sent", "attempts": 1}])
    bad = data.event("evt-bad", caller="8 902 385 52 70", to="103", decisions=[(petrova, True, "notify")],
                     deliveries=[
                         {"subscriber": petrova, "channel": "email", "status": "failed", "attempts": 2,
                          "last_error": "550 5.1.1 mailbox unavailable"},
                         {"subscriber": petrova, "channel": "telegram", "status": "skipped", "address": "",
                          "last_error": "Telegram не подключён"}])
    data.event("evt-no", caller="+7 495 111-22-33", result="caller_hangup",
               decisions=[(ivanov, False, "caller_hangup")])
    db.session.commit()
    return {"ivanov": ivanov.id, "ok": ok.id, "bad": bad.id,
            "failed": bad.deliveries[0].id, "skipped": bad.deliveries[1].id}


def html_of(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def rows(html):
    return re.findall(r'data-event="([^"]+)"', html)


def test_needs_login(client):
    assert client.get("/log/").status_code in (302, 303)


def test_empty_state_points_to_the_webhook_settings(auth_client):
    html = html_of(auth_client.get("/log/"))
    assert "Событий пока нет" in html and 'href="/settings/#pbx"' in html
    assert "Подключение АТС" in html and 'role="search"' not in html


def test_list_shows_time_caller_employee_decision_and_deliveries(auth_client, logged):
    html = html_of(auth_client.get("/log/"))
    assert rows(html) == ["evt-no", "evt-bad", "evt-ok"]
    assert "10:15:03" in html  # 07:15:03 UTC in Europe/Moscow
    assert "+7 902 385-52-70" in html and "ООО Ромашка" in html and "VIP" in html
    assert "Иванов Иван" in html and "Петрова Анна" in html
    assert "Звонящий положил трубку до окончания ожидания" in html
    assert "Уведомление отправлено" in html and "Ошибка доставки" in html and "Без уведомления" in html
    assert "Email: ошибка" in html and "Telegram: пропущено" in html
    assert f'href="/log/{logged["bad"]}"' in html
    assert POLL not in html  # nothing pending


@pytest.mark.parametrize("qs, expected", [
    ("caller=8+(902)+385-52-70", ["evt-bad"]),
    ("caller=%D1%80%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0", ["evt-bad"]),  # «ромашка»
    ("caller=101", ["evt-ok"]),
    ("employee=%D0%B8%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2", ["evt-no", "evt-ok"]),  # «иванов»
    ("status=failed", ["evt-bad"]),
    ("status=not_notified", ["evt-no"]),
    ("status=notified&caller=101", ["evt-ok"]),
    ("caller=000000", []),
])
def test_filters_work_as_a_plain_get(auth_client, logged, qs, expected):
    html = html_of(auth_client.get(f"/log/?{qs}"))
    assert rows(html) == expected
    assert ('role="search"' in html) and ("<html" in html)
    if not expected:
        assert "Ничего не найдено" in html and "Сбросить фильтры" in html


def test_filter_form_is_active_search_and_keeps_values(auth_client, logged):
    html = html_of(auth_client.get("/log/?status=failed&caller=%3Cb%3E"))
    form = html[html.index("<form class=\"card log-filters\""):html.index("</form>", html.index("log-filters"))]
    assert 'hx-get="/log/"' in form and 'hx-target="#log-results"' in form and 'hx-push-url="true"' in form
    assert 'input delay:400ms' in form and 'method="get"' in form and 'hx-sync="this:replace"' in form
    assert '<option value="failed" selected>' in form and 'value="&lt;b&gt;"' in form


def test_htmx_gets_only_the_list(auth_client, logged):
    html = html_of(auth_client.get("/log/?status=failed", headers=HTMX_LIST))
    assert "<html" not in html and html.lstrip().startswith('<div id="log-results"')
    assert rows(html) == ["evt-bad"]


def test_employee_chip_for_a_subscriber_id(auth_client, logged):
    html = html_of(auth_client.get(f"/log/?subscriber={logged['ivanov']}"))
    assert rows(html) == ["evt-no", "evt-ok"]
    assert f'name="subscriber" value="{logged["ivanov"]}"' in html and "Показать всех сотрудников" in html


@pytest.mark.parametrize("qs", [
    "subscriber=abc", "subscriber=-1", "subscriber=999999999999999999999", "before=x", "before=0",
    "limit=-5", "limit=100000", "status=%3Cscript%3E", "caller=%00", "employee=%00%25_%5C",
    "caller=" + "9" * 3000, "status=failed&status=sent", "before=99999999999", "subscriber=5&subscriber=x",
    "caller=%F0%9F%99%82", "employee=%27%20or%201%3D1--",
])
def test_odd_query_parameters_never_fail(auth_client, logged, qs):
    assert auth_client.get(f"/log/?{qs}").status_code == 200
    assert auth_client.get(f"/log/?{qs}", headers=HTMX_LIST).status_code == 200


def test_pages_of_fifty_with_a_link_to_older(app, auth_client):
    for n in range(53):
        data.event(f"e{n:02d}", caller="101")
    db.session.commit()
    html = html_of(auth_client.get("/log/?caller=101"))
    assert len(rows(html)) == 50 and rows(html)[0] == "e52"
    older = page_link(html)
    assert "caller=101" in older and "before=" in older
    html = html_of(auth_client.get(older))
    assert rows(html) == ["e02", "e01", "e00"] and "К новым" in html
    assert page_link(html, "prev") == "/log/?caller=101"


def test_detail_shows_payload_reasons_attempts_and_errors(auth_client, logged):
    html = html_of(auth_client.get(f"/log/{logged['bad']}"))
    assert "Событие evt-bad" in html
    assert "Решение по правилам" in html and "Уведомить" in html
    assert "550 5.1.1 mailbox unavailable" in html and "Telegram не подключён" in html
    assert "petrova@example.com" in html
    delivery_rows = re.findall(r'<tr class="log-delivery" data-channel="(\w+)">(.*?)</tr>', html, re.S)
    assert [c for c, _ in delivery_rows] == ["email", "telegram"]
    assert "<td>2</td>" in delivery_rows[0][1] and "Повторить" in delivery_rows[0][1]
    assert "Повторить" not in delivery_rows[1][1]
    assert '&#34;from&#34;: &#34;8 902 385 52 70&#34;' in html or '&quot;from&quot;: &quot;8 902 385 52 70&quot;' in html
    assert 'name="csrf_token"' in html and f'hx-post="/log/deliveries/{logged["failed"]}/retry"' in html
    no = html_of(auth_client.get(f"/log/{logged['ok']}"))
    assert "Повторить" not in no


def test_unknown_event_and_delivery_are_404(auth_client, logged):
    assert auth_client.get("/log/999999").status_code == 404
    assert auth_client.get("/log/99999999999999").status_code == 404
    resp = auth_client.post("/log/deliveries/999999/retry", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 404


def test_retry_needs_csrf(app, auth_client, logged):
    resp = auth_client.post(f"/log/deliveries/{logged['failed']}/retry")
    assert resp.status_code == 400
    assert db.session.get(Delivery, logged["failed"]).status == "failed"


def queued_jobs(app) -> int:
    return sum(get_queue(name).count for name in QUEUE_NAMES)


def test_retry_requeues_a_failed_delivery(app, auth_client, logged):
    url = f"/log/deliveries/{logged['failed']}/retry"
    resp = auth_client.post(url, data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 303 and resp.location.endswith(f"/log/{logged['bad']}")
    assert db.session.get(Delivery, logged["failed"]).status in ("pending", "retrying")
    assert queued_jobs(app) >= 1
    html = html_of(auth_client.get(resp.location))
    assert "снова поставлено в очередь" in html and POLL in html  # pending again: the detail refreshes


def test_retry_from_htmx_swaps_the_detail_and_refuses_what_is_not_failed(app, auth_client, logged):
    url = f"/log/deliveries/{logged['failed']}/retry"
    html = html_of(auth_client.post(url, data={"csrf_token": auth_client.csrf_token}, headers=HTMX_DETAIL))
    assert html.lstrip().startswith('<div id="event-detail"') and POLL in html
    again = html_of(auth_client.post(url, data={"csrf_token": auth_client.csrf_token}, headers=HTMX_DETAIL))
    assert "Повторить нельзя" in again
    skipped = f"/log/deliveries/{logged['skipped']}/retry"
    html = html_of(auth_client.post(skipped, data={"csrf_token": auth_client.csrf_token}, headers=HTMX_DETAIL))
    assert "Повторить нельзя" in html
    assert db.session.get(Delivery, logged["skipped"]).status == "skipped"


@pytest.mark.parametrize("processed, statuses, polls", [
    (False, [], True),
    (True, ["pending"], True),
    (True, ["retrying", "sent"], True),
    (True, ["sent"], False),
    (True, ["failed", "skipped"], False),
    (True, [], False),
])
def test_polling_only_while_something_is_pending(app, auth_client, processed, statuses, polls):
    sub = factories.subscriber("102", "Иванов", "ivanov@example.com")
    ev = data.event("e1", processed=processed, deliveries=[
        {"subscriber": sub, "channel": ch, "status": s} for ch, s in zip(("email", "telegram"), statuses)])
    data.event("e0-done", caller="101")
    db.session.commit()
    pk = ev.id
    for url, headers in (("/log/", {}), ("/log/", HTMX_LIST), (f"/log/{pk}", {}), (f"/log/{pk}", HTMX_DETAIL)):
        html = html_of(auth_client.get(url, headers=headers))
        assert (POLL in html) is polls, url
        assert html.count("every ") == (1 if polls else 0)  # once, and never faster than 2 s
    if polls:  # the list polls the same filtered URL it shows
        html = html_of(auth_client.get("/log/?caller=902&employee=102"))
        assert re.search(r'<div id="log-results"[^>]*hx-get="/log/\?[^"]*caller=902[^"]*"[^>]*every 2s', html)


def test_names_errors_and_payload_are_escaped(app, auth_client):
    evil = '<img src=x onerror="alert(1)">'
    sub = factories.subscriber("102", evil + "Иван", "a@example.com")
    factories.contact("<script>alert(2)</script>", "+7 902 385 52 70")
    ev = data.event("<b>evt</b>", caller="+79023855270", decisions=[(sub, True, "notify")],
                    deliveries=[{"subscriber": sub, "channel": "email", "status": "failed",
                                 "last_error": "<script>alert(3)</script>"}],
                    note="</code></pre><script>alert(4)</script>")
    db.session.commit()
    pk = ev.id
    for html in (html_of(auth_client.get("/log/")), html_of(auth_client.get(f"/log/{pk}"))):
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>evt</b>" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;img src=x" in html
    detail = html_of(auth_client.get(f"/log/{pk}"))
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in detail
    assert "&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(4)" in detail


def test_detail_shows_the_line_and_the_voicemail_length(app, auth_client):
    call = data.event("e-call", direction="external", routing="direct", line="<i>+7 495 123-45-67</i>")
    vm = data.event("e-vm", type="voicemail.received", result=None, duration_seconds=17)
    odd = data.event("e-odd", line=5, duration_seconds="17")  # not what the contract allows: not shown
    db.session.commit()
    pks = call.id, vm.id, odd.id
    html = html_of(auth_client.get(f"/log/{pks[0]}"))
    assert "Многоканальный номер" in html and "&lt;i&gt;+7 495 123-45-67&lt;/i&gt;" in html
    html = html_of(auth_client.get(f"/log/{pks[1]}"))
    assert "Длительность сообщения</dt><dd>17 с" in html and "Голосовая почта — оставлено сообщение" in html
    html = html_of(auth_client.get(f"/log/{pks[2]}"))
    assert "Многоканальный номер" not in html and "Длительность сообщения" not in html


def test_the_filter_form_pushes_a_clean_address_and_polling_pushes_none(auth_client, logged):
    resp = auth_client.get("/log/?employee=&caller=101&status=", headers={**HTMX_LIST, "HX-Trigger": "log-filters"})
    assert resp.headers["HX-Push-Url"] == "/log/?caller=101"
    assert "HX-Push-Url" not in auth_client.get("/log/?caller=101", headers=HTMX_LIST).headers


def test_an_unknown_subscriber_is_shown_by_its_number(app, auth_client):
    ev = data.event("e1", to="8 902 000-11-22", decisions=[("+79020001122", False, "unknown_subscriber")])
    db.session.commit()
    pk = ev.id
    html = html_of(auth_client.get(f"/log/{pk}"))
    assert html.count("+7 902 000-11-22") >= 2 and "не абонент АТС" in html
    assert "Номер не принадлежит абоненту АТС" in html


def test_an_outgoing_call_is_named_so_and_decided_for_its_employee(app, auth_client):
    ivanov = factories.subscriber("102", "Иванов Иван")
    ev = data.event("e-out", caller="102", to="+7 902 385-52-70", direction="outgoing",
                    decisions=[(ivanov, False, "outgoing")])
    db.session.commit()
    pk = ev.id
    html = html_of(auth_client.get("/log/"))
    assert "Исходящий звонок" in html and "внешний номер" in html and "не абонент АТС" not in html
    html = html_of(auth_client.get(f"/log/{pk}"))
    assert "Исходящий звонок — не ответили" in html
    assert "Исходящий звонок сотрудника: о нём не уведомляют" in html and "Иванов Иван" in html
