"""Uploads are read in the background: the page that waits, failures, limits on jobs.

A large workbook takes longer to read than a request may last, so the upload returns at
once and its preview page waits for the background job (``webapp.import_export.jobs``).
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl.worksheet import _writer as sheet_writer
from sqlalchemy import func, select, update

from tests.helpers import final_page, post_file
from webapp.extensions import db
from webapp.import_export import jobs, service, uploads
from webapp.models import PendingImport, Student
from webapp.models.types import utcnow


def reading_upload(app: Flask, owner: str = "user:1") -> uploads.Upload:
    """An upload created as the upload page creates it, whose job has not run yet."""
    with app.test_request_context():
        return service.begin_upload(filename="slow.xlsx", owner=owner, size=10)


def owner(app: Flask, client: FlaskClient) -> str:
    with client.session_transaction() as session:
        user_id = session["_user_id"]
    return f"user:{int(str(user_id).split(':')[0])}"


def test_a_reading_upload_shows_a_page_that_waits_for_it(app: Flask, client: FlaskClient) -> None:
    client.get("/students/")
    upload = reading_upload(app, owner(app, client))
    page = client.get(f"/students/import/{upload.token}")
    assert page.status_code == 200
    assert "<h1>Reading slow.xlsx</h1>" in page.text
    assert f'data-import-status="/students/import/{upload.token}/status"' in page.text
    assert "js/import-reading.js" in page.text
    status = client.get(f"/students/import/{upload.token}/status")
    assert status.json == {"status": "reading"}

    # While it is read, it cannot be confirmed nor mapped.
    confirm = client.post(f"/students/import/{upload.token}", data={"confirm": "Import"})
    assert confirm.status_code == 302
    assert confirm.location.endswith(upload.token)
    remap = client.post(f"/students/import/{upload.token}/mapping", data={"column_0": "name"})
    assert remap.status_code == 303


def test_an_upload_read_for_too_long_is_told_as_interrupted(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/students/")
    upload = reading_upload(app, owner(app, client))
    with app.app_context():
        db.session.execute(
            update(PendingImport)
            .where(PendingImport.token == upload.token)
            .values(started_at=utcnow() - timedelta(seconds=jobs.DEFAULT_READ_TIMEOUT + 1))
        )
        db.session.commit()
    page = client.get(f"/students/import/{upload.token}")
    assert page.status_code == 422
    assert "Reading the file was interrupted" in page.text
    assert client.get(f"/students/import/{upload.token}/status").json == {"status": "failed"}


def test_a_job_that_fails_unexpectedly_fails_its_upload_with_a_plain_message(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(upload: uploads.Upload, data: bytes) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "read_upload", broken)
    response = post_file(client, b"name,grade\nAda,7\n")
    page = final_page(client, response)
    assert page.status_code == 422
    assert "because of an error on the server" in page.text
    assert "a bug" not in page.text


def test_uploads_beyond_what_a_process_reads_at_once_get_429(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "_queued", jobs.RUNNING + jobs.WAITING)
    response = post_file(client, b"name,grade\nAda,7\n")
    assert response.status_code == 429
    assert "The server is reading other files at the moment" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PendingImport)) == 0


def test_the_status_of_an_upload_is_its_owners_only(app: Flask, client: FlaskClient) -> None:
    response = post_file(client, b"name,grade\nAda,7\n")
    location: str = response.location
    assert client.get(f"{location}/status").json == {"status": "ready"}
    other = app.test_client(user="editor")
    assert other.get(f"{location}/status").status_code == 404


def test_uploads_sent_at_once_are_read_one_after_the_other(app: Flask, client: FlaskClient) -> None:
    locations: list[Any] = []
    for number in range(jobs.RUNNING + jobs.WAITING):
        response = client.post(
            "/students/import",
            data={"file": (io.BytesIO(f"name,grade\nS{number},7\n".encode()), "s.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 303
        locations.append(response.location)
    jobs.wait(60)
    for location in locations:
        assert re.search(r"<dt>New students</dt><dd>1</dd>", client.get(location).text)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Student)) == 0


# --- issue 18, finding 8: nothing the import keeps is readable by others -------------------


def test_an_import_keeps_no_file_and_its_temporary_files_are_private(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Previews were JSON files of mode 0644 beside uploads of mode 0600; now an upload,
    its preview and a remembered mapping live in the database. The files an import or
    export writes meanwhile (openpyxl's sheet of an .xlsx export; an upload large enough
    to be spooled by the request parser) are private to the server's account, and none
    is left behind."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    instance = tmp_path / "instance"
    monkeypatch.setattr(app, "instance_path", str(instance))
    modes: list[int] = []
    create = sheet_writer.create_temporary_file

    def recording(suffix: str = "") -> str:
        name: str = create(suffix)
        modes.append(stat.S_IMODE(os.stat(name).st_mode))
        return name

    monkeypatch.setattr(sheet_writer, "create_temporary_file", recording)
    previous_umask = os.umask(0o022)
    try:
        # Over 500 KB, so the request parser spools it to disk (a long ignored column
        # makes it so with few rows to import).
        rows = "".join(f"Private {n},{n % 12 + 1},{'x' * 300}\n" for n in range(2_000))
        response = post_file(client, f"name,grade,notes\n{rows}".encode())
        location = response.location
        client.post(f"{location}/mapping", data={"column_0": "name", "column_1": "grade",
                                                  "column_2": "ignore"})  # fmt: skip
        jobs.wait(60)
        assert client.post(location, data={"confirm": "Import"}).status_code == 303
        export = client.get("/students/export.xlsx")
        assert export.status_code == 200
    finally:
        os.umask(previous_umask)
    assert modes
    assert all(mode == 0o600 for mode in modes), modes
    assert list(temporary.iterdir()) == []
    assert not instance.exists() or list(instance.rglob("*")) == []
