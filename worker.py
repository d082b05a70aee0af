"""``python worker.py``: the RQ worker that turns events into notifications."""
import sys

from notifier.pipeline.worker import main

if __name__ == "__main__":
    main(burst="--burst" in sys.argv[1:])
