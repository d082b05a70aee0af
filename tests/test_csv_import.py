"""CSV import through the screens: preview, confirm, all or nothing, per-line errors, updates by number; export round trip."""
import codecs
import io
import re

from notifier.extensions import db
from notifier.models import Contact, Rule, Subscriber
from notifier.services import contacts as contacts_service
from notifier.services import subscribers as subscribers_service


def upload(client, path, raw: bytes, name="people.csv"):
    return client.post(path, data={"csrf_token": client.csrf_token, "file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data")


def confirm(client, path, html):
    source = re.search(r'<textarea name="source"[^>]*>\n(.*?)</textarea>', html, re.S).group(1)
    import html as html_lib
    return client.post(path, data={"csrf_token": client.csrf_token, "confirm": "1", "source": html_lib.unescape(source)})


def subscribers(app):
    return {s.number_key: (s.name, s.email, s.telegram) for s in db.session.query(Subscriber)}


EMPLOYEES = "Номер;Имя;Email;Telegram\r\n101;Иванов Иван;ivanov@example.com;@ivanov\r\n+7 902 385-52-70;Петрова Анна;;\r\n"


def test_preview_then_confirm_creates_and_updates(app, auth_client):
    subscribers_service.create({"number": "89023855270", "name": "Петрова", "email": "old@example.com"})
    db.session.commit()
    resp = upload(auth_client, "/subscribers/import", codecs.BOM_UTF8 + EMPLOYEES.encode())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Создать: 1" in html and "Обновить: 1" in html
    assert "Имя: «Петрова» → «Петрова Анна»" in html and "Email: «old@example.com» → «»" in html
    assert len(subscribers(app)) == 1  # a preview saves nothing
    resp = confirm(auth_client, "/subscribers/import", html)
    assert resp.status_code == 302
    assert subscribers(app) == {"101": ("Иванов Иван", "ivanov@example.com", "@ivanov"),
                                "+79023855270": ("Петрова Анна", None, None)}
    assert "Импорт завершён: создано 1, обновлено 1" in auth_client.get("/subscribers/").get_data(as_text=True)


def test_cp1251_with_commas_and_only_some_columns(app, auth_client):
    subscribers_service.create({"number": "101", "name": "Старое имя", "email": "keep@example.com"})
    db.session.commit()
    raw = "Номер,ФИО\r\n101,Иванов Иван\r\n102,\"Сидоров, Пётр\"\r\n".encode("cp1251")
    html = upload(auth_client, "/subscribers/import", raw).get_data(as_text=True)
    assert "Сидоров, Пётр" in html
    assert confirm(auth_client, "/subscribers/import", html).status_code == 302
    # the email column was not in the file: kept
    assert subscribers(app) == {"101": ("Иванов Иван", "keep@example.com", None), "102": ("Сидоров, Пётр", None, None)}


def test_errors_per_line_and_nothing_imported(app, auth_client):
    raw = ("Номер;Имя;Email\n101;Иванов;ivanov@example.com\n385-52-70;Без кода;\n"
           "103;Плохая почта;nope\n8 (101);Повтор;\n").encode()
    resp = upload(auth_client, "/subscribers/import", raw)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Файл не импортирован" in html
    errors = re.findall(r"<tr><td>(\d+)</td><td class=\"field-error\">([^<]*)</td></tr>", html)
    assert [line for line, _ in errors] == ["3", "4"]
    assert "Номер: Неверный номер телефона" in errors[0][1] and "Email: Неверный email" in errors[1][1]
    assert subscribers(app) == {}
    assert "Импортировать" not in html


def test_duplicate_number_within_the_file_names_the_first_line(auth_client):
    raw = "Номер;Имя\n+7 902 385-52-70;А\n\n8 902 385 52 70;Б\n".encode()
    html = upload(auth_client, "/subscribers/import", raw).get_data(as_text=True)
    assert "<tr><td>4</td><td class=\"field-error\">Номер 8 902 385 52 70 уже есть в строке 2</td></tr>" in html


def test_bad_columns_and_not_csv(auth_client):
    html = upload(auth_client, "/subscribers/import", "Имя;Почта\nИванов;a@b.ru\n".encode()).get_data(as_text=True)
    assert "Нет обязательного столбца «Номер»" in html
    resp = upload(auth_client, "/subscribers/import", b"PK\x03\x04xlsx", name="people.xlsx")
    assert resp.status_code == 422 and "Это файл Excel" in resp.get_data(as_text=True)
    resp = auth_client.post("/subscribers/import", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 422 and "Выберите CSV-файл" in resp.get_data(as_text=True)


def test_confirm_revalidates_and_is_all_or_nothing(app, auth_client):
    html = upload(auth_client, "/subscribers/import", EMPLOYEES.encode()).get_data(as_text=True)
    assert "Создать: 2" in html
    # the confirmed text is planned again, so a changed text with a bad line is rejected as a whole
    resp = auth_client.post("/subscribers/import", data={
        "csrf_token": auth_client.csrf_token, "confirm": "1",
        "source": "Номер;Имя\n101;Хороший\nabc;Плохой\n"})
    assert resp.status_code == 422 and "Файл не импортирован" in resp.get_data(as_text=True)
    assert subscribers(app) == {}


def test_import_keeps_rules_of_updated_employees(app, auth_client):
    sub = subscribers_service.create({"number": "101"})
    db.session.add(Rule(subscriber_id=sub.id, criteria={"types": ["voicemail"]}))
    db.session.commit()
    html = upload(auth_client, "/subscribers/import", "Номер;Имя\n101;Иванов\n".encode()).get_data(as_text=True)
    confirm(auth_client, "/subscribers/import", html)
    assert db.session.query(Rule).count() == 1


def test_subscribers_export_round_trip(app, auth_client):
    subscribers_service.create({"number": "101", "name": '=cmd|"/c calc"!A1', "email": "a@example.com", "telegram": "@ivanov"})
    subscribers_service.create({"number": "+7 902 385-52-70", "name": "Петрова; Анна\nвторая строка"})
    db.session.commit()
    resp = auth_client.get("/subscribers/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.data
    assert raw.startswith(codecs.BOM_UTF8)
    text = raw.decode("utf-8-sig")
    assert text.startswith("Номер;Имя;Email;Telegram\r\n") and "'=cmd" in text and "'@ivanov" in text
    before = subscribers(app)
    html = upload(auth_client, "/subscribers/import", raw).get_data(as_text=True)
    assert "Без изменений: 2" in html and "Создать: 0" in html
    assert confirm(auth_client, "/subscribers/import", html).status_code == 302
    assert subscribers(app) == before


# -- contacts -------------------------------------------------------------------------

def contacts(app):
    return {c.name: ([n.number for n in c.numbers], c.vip) for c in db.session.query(Contact)}


def test_contacts_import_creates_and_updates_by_number(app, auth_client):
    contacts_service.create({"name": "Ромашка", "numbers": ["+7 902 385-52-70", "101"], "vip": False})
    db.session.commit()
    raw = ("Название;Телефоны;VIP\n"
           "ООО Ромашка;\"8 902 385 52 70, +7 495 123-45-67\";да\n"
           "ИП Васильков;+7 912 000-00-01;\n").encode("cp1251")
    html = upload(auth_client, "/contacts/import", raw).get_data(as_text=True)
    assert "Создать: 1" in html and "Обновить: 1" in html
    assert "Номера: +7 902 385-52-70, 101 → 8 902 385 52 70, +7 495 123-45-67" in html
    assert confirm(auth_client, "/contacts/import", html).status_code == 302
    assert contacts(app) == {"ООО Ромашка": (["8 902 385 52 70", "+7 495 123-45-67"], True),
                             "ИП Васильков": (["+7 912 000-00-01"], False)}


def test_contacts_import_errors(app, auth_client):
    contacts_service.create({"name": "А", "numbers": ["101"]})
    contacts_service.create({"name": "Б", "numbers": ["102"]})
    db.session.commit()
    raw = ("Имя,Номера,VIP\n"
           "Новый,\"103, 104\",нет\n"
           "Смесь,\"101, 102\",\n"
           ",105,\n"
           "Повтор,104,\n"
           "Флаг,106,может быть\n").encode()
    resp = upload(auth_client, "/contacts/import", raw)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    errors = dict(re.findall(r"<tr><td>(\d+)</td><td class=\"field-error\">([^<]*)</td></tr>", html))
    assert errors["3"] == "Номера строки принадлежат разным контактам: «А», «Б»"
    assert errors["4"] == "Имя: Укажите имя"
    assert errors["5"] == "Номер 104 уже есть в строке 2"
    assert errors["6"] == "VIP: Укажите да или нет"
    assert set(contacts(app)) == {"А", "Б"}


def test_contacts_export_round_trip(app, auth_client):
    contacts_service.create({"name": "ООО «Ромашка»", "numbers": ["+7 902 385-52-70", "101"], "vip": True})
    contacts_service.create({"name": "-Минус", "numbers": ["102"]})
    db.session.commit()
    raw = auth_client.get("/contacts/export.csv").data
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "Имя;Номера;VIP"
    assert "ООО «Ромашка»;'+7 902 385-52-70, 101;да" in text and "'-Минус;102;нет" in text
    before = contacts(app)
    html = upload(auth_client, "/contacts/import", raw).get_data(as_text=True)
    assert "Без изменений: 2" in html
    confirm(auth_client, "/contacts/import", html)
    assert contacts(app) == before


def test_export_quotes_every_formula_start(app, auth_client):
    """A leading - or + is a formula even in a number («-2-3» shows as -5 in Excel);
    the import takes the quotes off again."""
    subscribers_service.create({"number": "-2-3", "name": "-2-3", "email": "a@example.com"})
    subscribers_service.create({"number": "+7 902 385-52-70", "name": "\uff1dSUM(1)"})
    db.session.commit()
    raw = auth_client.get("/subscribers/export.csv").data
    rows = raw.decode("utf-8-sig").splitlines()[1:]
    assert sorted(rows) == sorted(["'-2-3;'-2-3;a@example.com;", "'+7 902 385-52-70;'\uff1dSUM(1);;"])
    before = subscribers(app)
    html = upload(auth_client, "/subscribers/import", raw).get_data(as_text=True)
    assert "Без изменений: 2" in html
    assert confirm(auth_client, "/subscribers/import", html).status_code == 302
    assert subscribers(app) == before


def test_apply_rolls_back_every_row_when_one_fails(app):
    """A number taken between planning and writing: the whole file is rolled back."""
    import pytest

    from notifier.core.fielderrors import FieldErrors
    from notifier.services import csv_io

    plan = csv_io.plan_subscribers("Номер;Имя\n101;Первый\n102;Второй\n")
    assert plan.ok and [r.action for r in plan.rows] == ["create", "create"]
    db.session.add(Subscriber(number="102", number_key="102", name="Успел раньше"))
    db.session.flush()
    with pytest.raises(FieldErrors, match="Строка 3: Этот номер уже есть у абонента «Успел раньше»"):
        csv_io.apply(plan)
    assert db.session.query(Subscriber).count() == 0  # the rollback took the flushed one too
