"""``make bench``: how fast call events become notifications, each figure next
to a baseline measured in the same run on the same machine (issue 7).

Entry point: ``python -m bench.run`` (see README «Benchmark»).
"""
