"""Sections whose screens are built in their own issues; each renders its page shell."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)

SECTIONS = {
    "subscribers": ("Абоненты", "/subscribers"),
    "contacts": ("Записная книжка клиентов", "/contacts"),
    "schedule": ("Рабочее время", "/schedule"),
    "log": ("Журнал", "/log"),
    "settings": ("Настройки", "/settings"),
}


def _section(name: str):
    title, _ = SECTIONS[name]
    return render_template("section.html", title=title, section=name)


for _name, (_title, _path) in SECTIONS.items():
    bp.add_url_rule(_path, _name, (lambda n: lambda: _section(n))(_name))
