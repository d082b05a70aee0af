"""WSGI entry point: ``gunicorn app:app`` or ``flask --app app run``."""
from notifier import create_app

app = create_app()
