"""The audit trail: per-student history, the site-wide log, revert and restore.

``trail`` writes events (used by the students service), ``service`` reads and undoes
them, ``views`` holds the blueprint. The blueprint lives in ``views`` rather than here so
that the students service can import ``trail`` without importing the views, which import
the students service.
"""
