"""The project builds into a wheel that installs and runs outside the checkout.

The wheel is built from this checkout with the locked build backend (hatchling, no
download), installed into a fresh virtualenv, and run from another directory: ``flask
--app webapp db upgrade``, the ``flask students``, ``flask users`` and ``flask backup``
commands (a backup checked against the packaged migrations), and gunicorn serving pages,
static files and ``/healthz``. The new virtualenv gets the locked
dependencies from this one's site-packages through a ``.pth`` file, so the test needs no
network and no second install of every dependency.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from tests.postgres import free_port

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(PROJECT_ROOT)),
        ],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("student_records-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed (dependencies from this virtualenv)."""
    target = tmp_path_factory.mktemp("deploy") / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "locked_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"),
            *("--no-deps", "--no-index", str(wheel)),
        ],
        check=True,
    )
    return target


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without the app's settings, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "DB_", "PYTHON"))
        and key not in {"DATABASE_URL", "SECRET_KEY", "INSTANCE_PATH", "VIRTUAL_ENV"}
    }
    return {**env, **extra}


def run(venv_dir: Path, cwd: Path, *args: str, **env: str) -> str:
    """Run the installed virtualenv's ``python`` with ``args`` in ``cwd``; return its stdout."""
    result = subprocess.run(
        [str(venv_dir / "bin" / "python"), *args],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_wheel_holds_the_app_templates_static_files_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "webapp/__init__.py",
        "webapp/import_export/importer/pipeline.py",
        "webapp/templates/base.html",
        "webapp/templates/students/form.html",
        "webapp/templates/auth/two_factor.html",
        "webapp/static/css/app.css",
        "webapp/migrations/env.py",
        "webapp/migrations/alembic.ini",
        "webapp/migrations/versions/0001_tutorial_schema.py",
        "webapp/migrations/versions/0010_signin_throttles_and_two_factor.py",
        "webapp/spreadsheets/reader.py",
        "webapp/oneroster/spec.py",
        "webapp/backup/cli.py",
    ):
        assert expected in names
    assert not any("__pycache__" in name for name in names)


def test_installed_package_migrates_runs_its_commands_and_serves(
    installed: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    instance = tmp_path / "instance"

    where = run(installed, elsewhere, "-c", "import webapp; print(webapp.__file__)")
    assert where.strip().startswith(str(installed))

    flask = ("-m", "flask", "--app", "webapp")
    settings = {"INSTANCE_PATH": str(instance), "SECRET_KEY": "packaging-test"}
    run(installed, elsewhere, *flask, "db", "upgrade", **settings)
    assert (instance / "students.db").is_file()
    assert "Added 5 students." in run(
        installed, elsewhere, *flask, "students", "seed", "-n", "5", **settings
    )
    exported = run(installed, elsewhere, *flask, "students", "export", **settings)
    assert exported.splitlines()[0] == "id,name,email,grade,birthday,enrolled_on"
    assert len(exported.splitlines()) == 6
    run(installed, elsewhere, *flask, "users", "create-first-admin", **settings)
    assert "admin" in run(installed, elsewhere, *flask, "users", "list", **settings)
    backup = run(installed, elsewhere, *flask, "backup", "create", "--verify", **settings)
    assert "Backed up the sqlite database" in backup
    assert "FAIL" not in backup
    assert list((instance / "backups").glob("students-*.sqlite3"))

    port = free_port()
    server = subprocess.Popen(
        [
            *(str(installed / "bin" / "python"), "-m", "gunicorn"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "webapp:create_app()"),
        ],
        cwd=elsewhere,
        env=environment(**settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        health = _get(f"{base}/healthz", server)
        assert '"status":"ok"' in health.replace(" ", "")
        assert "Log in" in _get(f"{base}/login", server)
        assert ".field" in _get(f"{base}/static/css/app.css", server)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_default_instance_folder_of_an_installed_package_is_in_its_virtualenv(
    installed: Path, tmp_path: Path
) -> None:
    """Without INSTANCE_PATH, Flask's default for an installed package: <prefix>/var/."""
    path = run(
        installed,
        tmp_path,
        "-c",
        "import webapp; print(webapp.create_app({'SECRET_KEY': 'x'}).instance_path)",
    )
    assert path.strip().splitlines()[-1] == str(installed / "var" / "webapp-instance")


def _get(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> str:
    """GET ``url``, retrying while the server starts; fail if the server exits."""
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            stderr = server.stderr.read().decode() if server.stderr else ""
            pytest.fail(f"gunicorn exited with {server.returncode}: {stderr}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
