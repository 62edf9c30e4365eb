"""Peer applications the benchmarks compare the app with, each a WSGI app for gunicorn.

* :mod:`bench.peers.raw`: the irreducible roster page: one ``SELECT`` with the raw
  ``sqlite3`` or ``psycopg`` driver and a Jinja template, optionally with a ``COUNT(*)``.
* :mod:`bench.peers.admin`: Flask-Admin's ``ModelView`` list of the same table.

Both read ``PEER_DATABASE_URL`` (``sqlite:///path`` or ``postgresql://...``).
"""
