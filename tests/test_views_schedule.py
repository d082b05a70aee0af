"""«Рабочее время»: the form saves what the API would, rejects bad input with 422, keeps the old schedule."""
import re

import pytest

from notifier.core.workhours import Schedule
from notifier.services import settings


def form(csrf, **overrides):
    data = {"csrf_token": csrf, "timezone": "Europe/Moscow", "country": "RU",
            "mon_start": "09:00", "mon_end": "18:00", "tue_start": "09:00", "tue_end": "18:00",
            "wed_start": "09:00", "wed_end": "18:00", "thu_start": "09:00", "thu_end": "18:00",
            "fri_start": "09:00", "fri_end": "17:00", "extra": [], "workdays": []}
    data.update(overrides)
    return data


def saved(app):
    return settings.schedule().to_json()


def test_page_shows_the_default_schedule_and_the_check_panel(auth_client):
    html = auth_client.get("/schedule/").get_data(as_text=True)
    assert '<option value="Europe/Moscow" selected>' in html
    assert '<option value="RU" selected>Россия</option>' in html
    assert 'name="mon_start" value="09:00"' in html and 'name="mon_end" value="18:00"' in html
    assert "Без официального календаря" in html
    assert "Ближайшие нерабочие дни" in html and "Выходной" in html
    assert re.search(r"Сейчас (не)?рабочее время", html)
    # one empty extra row per list works without JavaScript
    assert html.count('name="sat_start" value=""') >= 1 and 'name="extra" value=""' in html


def test_save_several_intervals_dates_and_country(app, auth_client):
    resp = auth_client.post("/schedule/", data=form(
        auth_client.csrf_token, timezone="Asia/Yekaterinburg", country="",
        mon_start=["09:00", "14:00", ""], mon_end=["13:00", "00:00", ""],
        sat_start="10:00", sat_end="15:00",
        extra=["2026-12-31", "", "2026-12-30"], workdays=["2027-01-09"]))
    assert resp.status_code == 302 and resp.location.endswith("/schedule/")
    data = saved(app)
    assert data["timezone"] == "Asia/Yekaterinburg"
    assert data["week"]["mon"] == [["09:00", "13:00"], ["14:00", "24:00"]]
    assert data["week"]["sat"] == [["10:00", "15:00"]] and data["week"]["sun"] == []
    assert data["holidays"] == {"country": None, "extra": ["2026-12-30", "2026-12-31"], "workdays": ["2027-01-09"]}
    html = auth_client.get("/schedule/").get_data(as_text=True)
    assert "Рабочее время сохранено." in html
    # 24:00 is shown as 00:00 in the time input, and the saved dates are listed
    assert 'name="mon_end" value="00:00"' in html and 'name="extra" value="2026-12-31"' in html
    assert '<option value="" selected>Без официального календаря</option>' in html


@pytest.mark.parametrize("overrides, field_error", [
    ({"timezone": "Mars/Olympus"}, "Неизвестный часовой пояс"),
    ({"timezone": ""}, "Укажите часовой пояс"),
    ({"mon_start": "18:00", "mon_end": "09:00"}, "должно быть раньше конца"),
    ({"tue_start": ["09:00", "12:00"], "tue_end": ["13:00", "18:00"]}, "Интервалы пересекаются"),
    ({"wed_start": "25:00"}, "Неверное время"),
    ({"thu_end": ""}, "Укажите и начало, и конец интервала"),
    ({"thu_start": ["09:00", "20:00"]}, "Укажите и начало, и конец интервала"),
    ({"country": "XX"}, "Неизвестная страна"),
    ({"extra": ["31.12.2026"]}, "Неверная дата"),
    ({"extra": ["2026-12-31"], "workdays": ["2026-12-31"]}, "одновременно нерабочей и рабочей"),
])
def test_invalid_input_rerenders_with_422_and_saves_nothing(app, auth_client, overrides, field_error):
    before = saved(app)
    resp = auth_client.post("/schedule/", data=form(auth_client.csrf_token, sat_start="10:00", sat_end="14:00", **overrides))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_error in html and 'class="field-error"' in html
    assert "Расписание не сохранено" in html
    assert 'name="sat_start" value="10:00"' in html  # what was typed is kept
    assert saved(app) == before


def test_error_is_shown_next_to_its_weekday(auth_client):
    html = auth_client.post("/schedule/", data=form(auth_client.csrf_token, fri_start="19:00")).get_data(as_text=True)
    friday = html[html.index("Пятница"):html.index("Суббота")]
    assert "должно быть раньше конца" in friday


def test_typed_text_is_escaped(auth_client):
    html = auth_client.post("/schedule/", data=form(auth_client.csrf_token, timezone='<b>"x"</b>')).get_data(as_text=True)
    assert '<b>"x"</b>' not in html and "&lt;b&gt;" in html


def test_form_without_csrf_token_is_rejected(app, auth_client):
    before = saved(app)
    resp = auth_client.post("/schedule/", data=form("wrong"))
    assert resp.status_code == 400 and saved(app) == before


def test_check_panel_uses_the_saved_schedule(app, auth_client):
    always = Schedule.from_json({"timezone": "UTC", "week": {d: [["00:00", "24:00"]] for d in
                                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    settings.put(settings.SCHEDULE_KEY, always.to_json())
    from notifier.extensions import db
    db.session.commit()
    html = auth_client.get("/schedule/").get_data(as_text=True)
    assert "Сейчас рабочее время" in html and "В ближайший год нерабочих дней нет." in html


def test_a_country_set_through_the_api_stays_selectable(app, auth_client, api_headers):
    body = Schedule.default().to_json()
    body["holidays"]["country"] = "FR"
    assert auth_client.put("/api/v1/schedule", json=body, headers=api_headers).status_code == 200
    html = auth_client.get("/schedule/").get_data(as_text=True)
    assert '<option value="FR" selected>FR</option>' in html
