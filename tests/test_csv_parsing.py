"""CSV reading as tables of cases: encodings, delimiters, headers, line numbers, formula-safe cells."""
import codecs
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.services.csv_io import (
    CONTACT_COLUMNS,
    FORMULA_START,
    SUBSCRIBER_COLUMNS,
    CsvError,
    _safe,
    decode,
    read_table,
    sniff_delimiter,
)

TEXT = "Номер;Имя\n101;Иванов Иван\n"


@pytest.mark.parametrize("raw, expected", [
    (TEXT.encode("utf-8"), TEXT),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), TEXT),
    (TEXT.encode("cp1251"), TEXT),
    (TEXT.encode("utf-16"), TEXT),  # with its BOM, as «Unicode text» from Excel
    ("Имя;Номера\nЁлка «Ромашка»;101\n".encode("cp1251"), "Имя;Номера\nЁлка «Ромашка»;101\n"),
])
def test_decode(raw, expected):
    assert decode(raw) == expected


@pytest.mark.parametrize("raw, message", [
    (b"", "Файл пустой"),
    (b"  \r\n ", "Файл пустой"),
    (b"PK\x03\x04rest-of-xlsx", "Это файл Excel"),
    (b"abc\x00def", "не текстовый"),
    (b"\x98\x98", "Не удалось определить кодировку"),
    (codecs.BOM_UTF8 + b"\xff\xfe\xfa", "Файл повреждён"),
])
def test_decode_errors(raw, message):
    with pytest.raises(CsvError, match=message):
        decode(raw)


@pytest.mark.parametrize("text, delimiter", [
    ("Номер;Имя;Email\n", ";"),
    ("Номер,Имя,Email\n", ","),
    ("Номер\tИмя\n", "\t"),
    ('"Имя, фамилия";Номер\n', ";"),   # commas inside quotes do not count
    ("\n\nНомер,Имя\n", ","),          # leading blank lines
    ("Номер\n101\n", ";"),             # one column
])
def test_sniff_delimiter(text, delimiter):
    assert sniff_delimiter(text) == delimiter


def test_read_table_maps_headers_in_any_language_and_order_and_counts_lines():
    text = 'E-mail,ФИО,Внутренний номер,Отдел\n\nivanov@example.com,"Иванов\nИван",101,Продажи\n,,,\n,Петрова,102,\n'
    table = read_table(text, SUBSCRIBER_COLUMNS)
    assert table.fields == {"email": 0, "name": 1, "number": 2}
    assert table.rows == [(3, ["ivanov@example.com", "Иванов\nИван", "101", "Продажи"]), (6, ["", "Петрова", "102", ""])]
    assert table.warnings == ["Столбец «Отдел» не используется и будет пропущен"]


@pytest.mark.parametrize("text, columns, message", [
    ("Имя;Email\nИванов;a@b.c\n", SUBSCRIBER_COLUMNS, "Нет обязательного столбца «Номер»"),
    ("Имя\nРомашка\n", CONTACT_COLUMNS, "Нет обязательного столбца «Номера»"),
    ("Номер;Телефон\n101;102\n", SUBSCRIBER_COLUMNS, "указан дважды"),
    ("Номер;Имя\n", SUBSCRIBER_COLUMNS, "только заголовок"),
    ('Номер;Имя\n101;"не закрыта\n', SUBSCRIBER_COLUMNS, None),  # csv module reads to the end: no crash
])
def test_read_table_errors(text, columns, message):
    if message is None:
        read_table(text, columns)
        return
    with pytest.raises(CsvError, match=message):
        read_table(text, columns)


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
    ("@ivanov", "'@ivanov"),
    ("-минус", "'-минус"),
    ("-2-3", "'-2-3"),                            # Excel shows -5
    ("+1-1", "'+1-1"),
    ("-1", "'-1"),
    ("+7 902 385-52-70", "'+7 902 385-52-70"),    # numbers too: «+7-902-385-52-70» would be computed
    ("+79023855270", "'+79023855270"),            # and shown as 7,9E+10
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    (" =1+1", "' =1+1"),                          # an import that trims blanks finds a formula
    ("\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"),
    ("\uff1d1+1", "'\uff1d1+1"),                  # full-width = + - @
    ("\uff0b1", "'\uff0b1"), ("\uff0d1", "'\uff0d1"), ("\uff20x", "'\uff20x"),
    ("'=1+1", "''=1+1"),                          # a quote typed in front survives the round trip
    ("'Иванов", "'Иванов"),
    ("Иванов", "Иванов"),
    ("101", "101"),
    ("Иванов -2-3", "Иванов -2-3"),
    ("ivanov@example.com", "ivanov@example.com"),
    ("", ""),
    (None, ""),
])
def test_export_cells_are_formula_safe(value, cell):
    assert _safe(value) == cell


def test_formula_quote_is_removed_on_import():
    table = read_table("Номер;Имя;Telegram\n101;'=1+1;'@ivanov\n'-2-3;''=x;'Иванов\n", SUBSCRIBER_COLUMNS)
    assert table.rows == [(2, ["101", "=1+1", "@ivanov"]), (3, ["-2-3", "'=x", "'Иванов"])]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("=+-@'\t\r \u00a0\uff1d\uff0dab1;\"\nЯ"), max_size=12))
def test_export_then_import_gives_the_text_back(value):
    """Whatever a cell holds, no spreadsheet formula leaves, and the import reads the same text."""
    cell = _safe(value)
    assert not cell.strip() or (cell[:1] not in FORMULA_START and cell.lstrip()[:1] not in FORMULA_START)
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(["101", cell])
    table = read_table("Номер;Имя\r\n" + out.getvalue(), SUBSCRIBER_COLUMNS)
    assert table.rows[0][1][1] == value.strip()
