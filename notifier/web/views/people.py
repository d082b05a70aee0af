"""What «Абоненты» and «Записная книжка клиентов» share: the search query,
the CSV import steps and the CSV download answer."""
from __future__ import annotations

from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for

from notifier.core.fielderrors import FieldErrors
from notifier.services import csv_io
from notifier.services.people_fields import query


def query_arg() -> str:
    return query(request.args.get("q"))


def csv_download(body: bytes, stem: str) -> Response:
    name = f"{stem}-{date.today().isoformat()}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def import_page(kind: str, texts: dict):
    """GET: the upload form. POST with a file: the preview. POST with the
    previewed text and confirm: the import itself, all or nothing."""
    plan, source, status = None, "", 200
    if request.method == "POST":
        upload = request.files.get("file")
        if request.form.get("confirm"):
            source = request.form.get("source", "")
            plan = csv_io.plan_for(kind, source)
            if plan.ok:
                try:
                    csv_io.apply(plan)
                except FieldErrors as e:
                    plan.errors.append((None, e.errors["file"]))
                else:
                    flash(f"Импорт завершён: создано {plan.count('create')}, обновлено {plan.count('update')}, "
                          f"без изменений {plan.count('same')}.", "success")
                    return redirect(url_for(texts["list_endpoint"]))
        elif upload is None or not upload.filename:
            plan = csv_io.Plan(kind, ())
            plan.errors.append((None, "Выберите CSV-файл"))
        else:
            raw = upload.read()
            plan = csv_io.plan_for(kind, raw)
            if plan.ok:
                source = csv_io.decode(raw)
        if not plan.ok:
            status = 422
    columns = csv_io.SUBSCRIBER_COLUMNS if kind == "subscribers" else csv_io.CONTACT_COLUMNS
    return render_template("subscribers/import.html", plan=plan, source=source, kind=kind, t=texts,
                           columns=columns), status
