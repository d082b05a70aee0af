"""In-process test doubles for external services (Telegram Bot API, SMTP)."""
