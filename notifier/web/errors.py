"""Error answers: JSON under /api/, a plain Russian page elsewhere; never a stack trace."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: "Неверный запрос",
    401: "Нужен вход",
    403: "Доступ запрещён",
    404: "Страница не найдена",
    405: "Метод не поддерживается",
    413: "Слишком большой запрос",
    415: "Неподдерживаемый тип содержимого",
    422: "Неверные данные",
    429: "Слишком много запросов",
    500: "Внутренняя ошибка",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _answer(status: int, detail: str | None = None):
    message = MESSAGES.get(status, "Ошибка")
    if _wants_json():
        return jsonify(error=detail or message), status
    return render_template("error.html", status=status, message=message, detail=detail), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err):
        return _answer(400, "Форма устарела или отправлена не со страницы приложения. Обновите страницу и повторите.")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if err.code is None or err.code < 400:
            return err
        detail = None if err.description == type(err).description else err.description
        return _answer(err.code, detail)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return _http(err)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _answer(InternalServerError.code)
