"""Backups: ``flask backup create``, ``verify`` and ``restore`` (see ``docs/backups.md``).

A backup is one database file and a manifest beside it:

* ``students-<UTC time>-<revision>.sqlite3``: a SQLite database made with SQLite's online
  backup API from one read snapshot (never a file copy, which can tear a WAL database);
* ``students-<UTC time>-<revision>.dump``: a ``pg_dump`` custom-format archive;
* ``<backup file>.manifest.json``: database kind, schema revision, time, row counts per
  table (counted in the snapshot the backup was taken from), size and SHA-256.

The package is self-contained: it uses the models' metadata, the extensions and the
configuration, never a blueprint. The logic shared by the command line
(:mod:`webapp.backup.cli`) and the tests: :mod:`~webapp.backup.creating`,
:mod:`~webapp.backup.verifying` and :mod:`~webapp.backup.restoring`, over
:mod:`~webapp.backup.contents` (what a database holds), the database-specific
:mod:`~webapp.backup.sqlite` and :mod:`~webapp.backup.postgres`, and
:mod:`~webapp.backup.files` (names, manifests, rotation).
"""
