"""Running the app: the ``make run`` launcher, the embedded Redis, the Redis
connection, ``flask`` CLI commands."""
