"""Issue 18, finding 3, against a real gunicorn: files that cost far more than their size.

The review's files (a 2 MB header of empty cells; 500,000 one-cell rows) and the largest
files the limits let through are uploaded to a gunicorn with one worker; each is refused
with a clear message or read within the bounds ``docs/import-export.md`` states: the
worker's peak memory, the preview stored, the size of a preview page.
``bench/import_files.py`` measures the same files (``bench/results/import-files.md``).
The "several hosts" test of pending imports is in ``tests/test_live_security.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from bench import import_files
from bench.client import Client
from bench.server import ACCOUNTS, Server, gunicorn_server

pytestmark = pytest.mark.slow

#: The bounds ``docs/import-export.md`` states for any file within the limits.
MAX_WORKER_PEAK = 150_000_000  # bytes above the worker's size before the upload
MAX_STORED = 8_000_000  # bytes of a pending import in the database: file, summary, pages
MAX_PAGE = 512_000  # bytes of a preview page


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    with gunicorn_server(
        f"sqlite:///{folder / 'students.db'}", folder / "gunicorn.log", workers=1
    ) as server:
        yield server


EXPECTED_REFUSALS = {
    "review: 500,000 one-cell rows (1 MB)": "The file has more than 100,000 rows",
    "2 MB header of named columns": "beyond the 200 columns read",
}


@pytest.mark.sqlite_only  # what is measured is the worker, not the database
@pytest.mark.parametrize("label", list(import_files.LIMIT_FILES))
def test_files_at_the_limits_stay_within_the_stated_bounds(one_worker: Server, label: str) -> None:
    make, expected = import_files.LIMIT_FILES[label]
    client = Client(one_worker.url, timeout=120, login=ACCOUNTS["editor"])
    result = import_files.try_limit_file(one_worker, client, label, make())

    assert result.upload.peak <= MAX_WORKER_PEAK, result.upload.peak
    if expected == 422:
        assert result.upload.status == 422
        error = re.search(r'id="file-error">(.*?)</p>', result.upload.text, re.S)
        assert error is not None
        assert EXPECTED_REFUSALS[label] in error.group(1)
        return
    assert result.upload.status == 200, result.upload.text[:500]
    assert result.stored is not None
    assert sum(result.stored[part] for part in ("file", "summary", "pages")) <= MAX_STORED
    assert result.page_bytes <= MAX_PAGE
