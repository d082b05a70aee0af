# Single-container self-hosting: the launcher runs web + worker + the embedded
# Redis under one process. Mount /app/instance to keep the SQLite database,
# generated secrets and Redis data. Set DATABASE_URL / REDIS_URL to use servers.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000
WORKDIR /app
# The lock: every package pinned with its hashes (README «Development»).
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
RUN useradd --create-home notifier && mkdir -p instance && chown notifier instance
USER notifier
VOLUME /app/instance
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"
CMD ["python", "-m", "notifier.runtime.launcher"]
