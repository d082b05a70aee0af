"""CSV import and export of employees and contacts.

Offices keep people in spreadsheets, so a file saved by Excel or LibreOffice
must simply work: UTF-8 with or without BOM or Windows-1251, «;» or «,» (or
tab) between columns, headers in Russian or English in any order. An import is
two steps: :func:`plan_subscribers` / :func:`plan_contacts` read the file and
say, row by row, what would be created or updated and what is wrong (with the
file's line number); :func:`apply` then writes a plan without errors in one
transaction, so a file is imported entirely or not at all. Every row goes
through the same service functions as the screens and the API.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Contact, Subscriber
from notifier.services import contacts as contacts_service
from notifier.services import subscribers as subscribers_service

MAX_ROWS = 5000
# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"):
# = + - @ and a leading tab or CR. Also their full-width forms: Excel in East
# Asian locales turns a typed «＝» into «=», and a quote too many costs nothing.
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_NUMBER_SPLIT = re.compile(r"[,;\n]+")


class CsvError(ValueError):
    """The file as a whole cannot be read; ``str()`` says why, in Russian."""


@dataclass(frozen=True)
class Column:
    field: str
    title: str
    aliases: tuple[str, ...]
    required: bool = False


SUBSCRIBER_COLUMNS = (
    Column("number", "Номер", ("номер", "number", "телефон", "внутренний номер", "добавочный"), True),
    Column("name", "Имя", ("имя", "name", "фио", "сотрудник")),
    Column("email", "Email", ("email", "e-mail", "почта", "эл. почта", "электронная почта")),
    Column("telegram", "Telegram", ("telegram", "телеграм", "телеграмм")),
)
CONTACT_COLUMNS = (
    Column("name", "Имя", ("имя", "name", "название", "клиент", "контакт", "организация"), True),
    Column("numbers", "Номера", ("номера", "номер", "numbers", "number", "телефон", "телефоны"), True),
    Column("vip", "VIP", ("vip", "вип")),
)


# -- reading ----------------------------------------------------------------------

def decode(raw: bytes) -> str:
    """Text of an uploaded file: UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1251."""
    if not raw.strip():
        raise CsvError("Файл пустой")
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvError("Это файл Excel, а не CSV: сохраните таблицу как «CSV (разделители — точка с запятой)»")
    try:
        if raw.startswith(codecs.BOM_UTF8):
            return raw[len(codecs.BOM_UTF8):].decode("utf-8")
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return raw.decode("utf-16")
    except UnicodeDecodeError:
        raise CsvError("Файл повреждён: неверные символы в кодировке UTF-8") from None
    if b"\x00" in raw:
        raise CsvError("Это не текстовый CSV-файл")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1251")
    except UnicodeDecodeError:
        raise CsvError("Не удалось определить кодировку: сохраните файл в UTF-8 или Windows-1251") from None


def sniff_delimiter(text: str) -> str:
    """«;», «,» or tab: whichever the header line has most of (quoted parts ignored)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", first)
    counts = {d: unquoted.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _header_key(cell: str) -> str:
    return re.sub(r"\s+", " ", cell.strip().strip("\ufeff").lower().replace("ё", "е"))


def _cell(value: str) -> str:
    """A cell as typed, without the quote a formula-safe export put in front
    and without surrounding blanks (also those the quote kept from the edge)."""
    value = value.strip()
    if value[:1] == "'" and _needs_quote(value[1:]):
        return value[1:].strip()
    return value


@dataclass
class Table:
    fields: dict[str, int]                      # field -> column index
    rows: list[tuple[int, list[str]]]           # (line number, cells)
    warnings: list[str] = field(default_factory=list)


def read_table(text: str, columns: tuple[Column, ...]) -> Table:
    """Rows of the file with the line each starts on; raises CsvError for a
    file whose header is unusable."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvError(f"Слишком много строк: не больше {MAX_ROWS} за один раз")
            rows.append((start, [_cell(c) for c in cells]))
    except csv.Error as e:
        raise CsvError(f"Строка {reader.line_num}: файл не читается как CSV ({e})") from None
    if header is None:
        raise CsvError("Файл пустой")
    fields: dict[str, int] = {}
    warnings: list[str] = []
    aliases = {alias: col for col in columns for alias in col.aliases}
    for index, title in enumerate(header):
        col = aliases.get(_header_key(title))
        if col is None:
            if title.strip():
                warnings.append(f"Столбец «{title.strip()}» не используется и будет пропущен")
            continue
        if col.field in fields:
            raise CsvError(f"Столбец «{col.title}» указан дважды")
        fields[col.field] = index
    missing = [col.title for col in columns if col.required and col.field not in fields]
    if missing:
        expected = "; ".join(col.title for col in columns)
        raise CsvError(f"Нет обязательного столбца «{'», «'.join(missing)}». Первая строка файла — "
                       f"заголовки столбцов: {expected}")
    if not rows:
        raise CsvError("В файле нет строк с данными, только заголовок")
    return Table(fields, rows, warnings)


# -- planning -------------------------------------------------------------------

@dataclass
class Row:
    line: int
    action: str                      # "create" | "update" | "same"
    data: dict                       # what goes to the service
    shown: dict[str, str]            # field -> text for the preview
    target_id: int | None = None
    changes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    kind: str                        # "subscribers" | "contacts"
    columns: tuple[Column, ...]
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def shown_columns(self) -> list[Column]:
        present = {key for row in self.rows for key in row.shown}
        return [col for col in self.columns if col.field in present]


def _row_data(cells: list[str], fields: dict[str, int]) -> dict[str, str]:
    return {name: (cells[index] if index < len(cells) else "") for name, index in fields.items()}


def _field_errors(line: int, errors: dict[str, str], columns: tuple[Column, ...]) -> list[tuple[int, str]]:
    titles = {col.field: col.title for col in columns}
    return [(line, f"{titles.get(key.split('.')[0], key)}: {message}") for key, message in errors.items()]


def _start(text_or_bytes, kind: str, columns) -> tuple[Plan, Table | None]:
    plan = Plan(kind, columns)
    try:
        text = decode(text_or_bytes) if isinstance(text_or_bytes, bytes) else text_or_bytes
        table = read_table(text, columns)
    except CsvError as e:
        plan.errors.append((None, str(e)))
        return plan, None
    plan.warnings = table.warnings
    return plan, table


def plan_subscribers(source: bytes | str) -> Plan:
    """What importing this employees file would do. An existing employee with
    the same number (after normalisation) is updated in the columns the file has."""
    plan, table = _start(source, "subscribers", SUBSCRIBER_COLUMNS)
    if table is None:
        return plan
    first_line: dict[str, int] = {}
    for line, cells in table.rows:
        data = _row_data(cells, table.fields)
        try:
            values = subscribers_service.clean(data, partial=True)
        except FieldErrors as e:
            plan.errors += _field_errors(line, e.errors, SUBSCRIBER_COLUMNS)
            continue
        key = values["number_key"]
        if key in first_line:
            plan.errors.append((line, f"Номер {data['number']} уже есть в строке {first_line[key]}"))
            continue
        first_line[key] = line
        shown = {name: data[name] for name in table.fields}
        existing = subscribers_service.by_key(key)
        if existing is None:
            plan.rows.append(Row(line, "create", data, shown))
            continue
        changes = [f"{col.title}: «{_text(getattr(existing, col.field))}» → «{_text(values[col.field])}»"
                   for col in SUBSCRIBER_COLUMNS
                   if col.field in values and _text(getattr(existing, col.field)) != _text(values[col.field])]
        plan.rows.append(Row(line, "update" if changes else "same", data, shown, existing.id, changes))
    return plan


def plan_contacts(source: bytes | str) -> Plan:
    """What importing this notebook file would do. A row whose numbers belong
    to an existing contact updates that contact (its numbers become the row's)."""
    plan, table = _start(source, "contacts", CONTACT_COLUMNS)
    if table is None:
        return plan
    number_line: dict[str, int] = {}
    contact_line: dict[int, int] = {}
    for line, cells in table.rows:
        raw = _row_data(cells, table.fields)
        numbers = [n.strip() for n in _NUMBER_SPLIT.split(raw["numbers"]) if n.strip()]
        data: dict = {"name": raw["name"], "numbers": numbers}
        if "vip" in raw:
            data["vip"] = raw["vip"]
        try:
            values = contacts_service.clean(data, partial=True)
        except FieldErrors as e:
            plan.errors += _field_errors(line, e.errors, CONTACT_COLUMNS)
            continue
        keys = [key for _, key in values["numbers"]]
        repeated = [(raw_n, number_line[key]) for raw_n, key in values["numbers"] if key in number_line]
        if repeated:
            plan.errors += [(line, f"Номер {n} уже есть в строке {other}") for n, other in repeated]
            continue
        for key in keys:
            number_line[key] = line
        owners = {c.id: c for c in contacts_service.owners(keys).values()}
        if len(owners) > 1:
            names = ", ".join(f"«{c.name}»" for c in owners.values())
            plan.errors.append((line, f"Номера строки принадлежат разным контактам: {names}"))
            continue
        shown = {"name": data["name"], "numbers": ", ".join(n for n, _ in values["numbers"])}
        if "vip" in values:
            shown["vip"] = "да" if values["vip"] else "нет"
        if not owners:
            plan.rows.append(Row(line, "create", data, shown))
            continue
        existing = next(iter(owners.values()))
        if existing.id in contact_line:
            plan.errors.append((line, f"Контакт «{existing.name}» уже изменяется строкой {contact_line[existing.id]}"))
            continue
        contact_line[existing.id] = line
        changes = _contact_changes(existing, values)
        plan.rows.append(Row(line, "update" if changes else "same", data, shown, existing.id, changes))
    return plan


def _contact_changes(contact: Contact, values: dict) -> list[str]:
    changes = []
    if contact.name != values["name"]:
        changes.append(f"Имя: «{contact.name}» → «{values['name']}»")
    old = [n.number for n in contact.numbers]
    new = [n for n, _ in values["numbers"]]
    if old != new:
        changes.append(f"Номера: {', '.join(old)} → {', '.join(new)}")
    if "vip" in values and contact.vip != values["vip"]:
        changes.append("VIP: " + ("да" if values["vip"] else "нет"))
    return changes


def _text(value) -> str:
    return "" if value is None else str(value)


def plan_for(kind: str, source: bytes | str) -> Plan:
    return plan_subscribers(source) if kind == "subscribers" else plan_contacts(source)


def apply(plan: Plan) -> None:
    """Write every row of an error-free plan and commit once; on any failure
    roll back everything and raise FieldErrors naming the line."""
    if not plan.ok:
        raise ValueError("a plan with errors cannot be applied")
    model, service = ((Subscriber, subscribers_service) if plan.kind == "subscribers"
                      else (Contact, contacts_service))
    where = ""
    try:
        for row in plan.rows:
            where = f"Строка {row.line}: "
            if row.action == "create":
                service.create(row.data)
            elif row.action == "update":
                target = db.session.get(model, row.target_id)
                if target is None:
                    raise FieldErrors({"file": "запись удалена, пока шёл импорт"})
                service.update(target, row.data, partial=True)
        where = ""
        service.commit()
    except FieldErrors as e:
        db.session.rollback()
        message = "; ".join(e.errors.values())
        raise FieldErrors({"file": f"{where}{message}. Ничего не импортировано."}) from None


# -- export ---------------------------------------------------------------------

def _needs_quote(text: str) -> bool:
    """Whether the export puts a ' in front of ``text``: a spreadsheet would
    take it for a formula (also after blanks an import may trim), or it starts
    with quotes in front of one, which the import would otherwise take for
    the export's quote. Phone numbers too: Excel computes «+7-902-385-52-70»
    and «-2-3», and shows «+79023855270» as 7,9E+10."""
    text = text.lstrip("'")
    head = text.lstrip()[:1]  # blanks alone are no formula
    return bool(head) and (text[0] in FORMULA_START or head in FORMULA_START)


def _safe(value) -> str:
    """A cell a spreadsheet shows as the text it is, never runs as a formula;
    :func:`_cell` takes the quote off again on import."""
    text = _text(value)
    return "'" + text if _needs_quote(text) else text


def _write(header: list[str], rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def export_subscribers(subscribers) -> bytes:
    """UTF-8 with BOM and «;», as Excel in a Russian locale opens it by double-click."""
    return _write([c.title for c in SUBSCRIBER_COLUMNS],
                  ([s.number, s.name, s.email, s.telegram] for s in subscribers))


def export_contacts(contacts) -> bytes:
    return _write([c.title for c in CONTACT_COLUMNS],
                  ([c.name, ", ".join(n.number for n in c.numbers), "да" if c.vip else "нет"] for c in contacts))

