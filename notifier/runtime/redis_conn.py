"""One Redis connection per process, from REDIS_URL (the launcher sets it to
the embedded server when the admin did not)."""
from __future__ import annotations

import redis
from flask import current_app


def connect(url: str, socket_timeout: float | None) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry_on_timeout=False,
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    """The app's Redis client (short timeouts: a Redis outage must not stall a request)."""
    ext = current_app.extensions
    if "redis" not in ext:
        url = current_app.config.get("REDIS_URL")
        if not url:
            raise RuntimeError("REDIS_URL is not set (the launcher sets it to the embedded Redis)")
        ext["redis"] = connect(url, current_app.config["REDIS_SOCKET_TIMEOUT"])
    return ext["redis"]
