# Single-container self-hosting: the launcher runs web + worker + the embedded
# Redis under one process. Mount /app/instance to keep the SQLite database,
# generated secrets and Redis data. Set DATABASE_URL / REDIS_URL to use servers
# (docker-compose.yml: app, worker, PostgreSQL, Redis). README «Docker».
FROM python:3.11-slim
# MALLOC_ARENA_MAX=2: threaded processes keep less freed memory (the launcher sets it
# for make run; here it also covers gunicorn and worker.py run on their own, issue 17).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 MALLOC_ARENA_MAX=2
# tini as PID 1: forwards docker stop's signal to the launcher and reaps orphans
# (RQ's scheduler, gunicorn's workers) that a Python PID 1 would leave as zombies.
RUN apt-get update && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The lock: every package pinned with its hashes (README «Development»).
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
# A fixed uid/gid (1000), so a bind-mounted host folder can be given to it: chown -R 1000:1000 DIR.
RUN groupadd --gid 1000 notifier && useradd --uid 1000 --gid 1000 --create-home notifier \
    && mkdir -p instance && chown notifier:notifier instance
USER notifier
VOLUME /app/instance
EXPOSE 8000
# /health is 503 when the database, Redis or the worker is down (README «Processes»).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]
# The launcher stops its children on TERM and waits up to 15 s (STOP_TIMEOUT)
# before killing them; Docker's default grace is 10 s: use `docker stop -t 20`
# / `docker run --stop-timeout 20` (docker-compose.yml sets stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["python", "-m", "notifier.runtime.launcher"]
