"""SPEC §1: Fync installed from a wheel or an sdist works like a checkout, as a self-hoster
would meet it: build a wheel, install it into a fresh venv, run `fync serve` in an empty
folder, sign up, register an app. And a `fync` without its core migrations refuses to run.

Building uses pip's isolated build (setuptools comes from the package index, as for
`make`'s own install); installing is offline: the dependencies are this venv's installed
distributions, packed back into wheels. The module takes ~40 s, most of it in the builds.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import sys_tags

from serve_helpers import ALL_SCOPES, Account, clean_env, free_port

REPO = Path(__file__).resolve().parent.parent
SUPPORTED = {str(tag) for tag in sys_tags()}
DATA_FILES = ("migrations/", "plugins/", "gancio_like/templates/", "gancio_like/static/")


def run(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def tracked_files() -> list[str]:
    """The checkout's files as git sees them: committed or new, not ignored, not deleted."""
    out = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO).stdout
    return sorted(f for f in out.split("\0") if f and (REPO / f).is_file())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="module")
def source(workdir) -> Path:
    """A copy of the checkout: building in place would leave build/ behind, and a stale
    build/ could hide a file the package no longer carries."""
    copy = workdir / "src"
    for name in tracked_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    return copy


def build_wheel(what: Path, dest: Path) -> tuple[Path, str]:
    """`pip wheel --no-deps` as a self-hoster runs it → (the wheel, pip's output)."""
    proc = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", dest, what)
    return next(dest.glob("fync-*.whl")), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def built(source, workdir) -> tuple[Path, str]:
    return build_wheel(source, workdir / "dist")


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    return built[0]


def test_the_build_warns_of_nothing_left_out(built):
    assert "would be ignored" not in built[1], built[1][-5000:]


# -- dependencies, offline: this venv's installed distributions packed back into wheels ----------


def wheel_requires(wheel: Path) -> list[str]:
    """The Requires-Dist lines of the wheel just built (not of this venv's editable install)."""
    with zipfile.ZipFile(wheel) as whl:
        metadata = whl.read(next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    return [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]


def requirements(texts: list[str], seen: dict) -> dict:
    """{name: installed Distribution} for these requirements and theirs, transitively."""
    for text in texts:
        req = Requirement(text)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{req.name} is not installed here: run `make .venv/.installed-test` after changing setup.cfg")
        if dist.metadata["Name"].lower() not in seen:
            seen[dist.metadata["Name"].lower()] = dist
            requirements(dist.requires or [], seen)
    return seen


def repack(dist: importlib.metadata.Distribution, dest: Path) -> Path:
    """An installed distribution as a wheel pip accepts: its files under site-packages,
    its metadata, and a RECORD of what was packed (scripts are made again from its entry points)."""
    tags = [line.split(":", 1)[1].strip() for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag:")]
    tag = next(t for t in tags if t in SUPPORTED)  # the one that lets this interpreter install it
    name = dist.metadata["Name"].replace("-", "_")
    path = dest / f"{name}-{dist.version}-{tag}.whl"
    record, info = [], None
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for file in dist.files:
            parts = Path(file).parts
            if parts[0] == ".." or "__pycache__" in parts or parts[-1] in ("RECORD", "INSTALLER", "REQUESTED",
                                                                             "direct_url.json"):
                info = info or (parts[0] if parts[0].endswith(".dist-info") else None)
                continue
            data = Path(dist.locate_file(file)).read_bytes()
            whl.writestr(str(file), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append((str(file), f"sha256={digest}", str(len(data))))
            info = info or (parts[0] if parts[0].endswith(".dist-info") else None)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(record + [(f"{info}/RECORD", "", "")])
        whl.writestr(f"{info}/RECORD", out.getvalue())
    return path


@pytest.fixture(scope="module")
def wheelhouse(wheel, workdir) -> Path:
    dest = workdir / "wheelhouse"
    dest.mkdir()
    for dist in requirements(wheel_requires(wheel), {}).values():
        repack(dist, dest)
    return dest


@pytest.fixture(scope="module")
def venv(wheel, wheelhouse, workdir) -> Path:
    """A fresh venv with the wheel installed → its bin/ folder."""
    root = workdir / "venv"
    run(sys.executable, "-m", "venv", root)
    run(root / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--find-links", wheel.parent,
        "--find-links", wheelhouse, "fync", env=clean_env(PIP_CONFIG_FILE=os.devnull))
    return root / "bin"


def site_packages(venv: Path) -> Path:
    out = run(venv / "python", "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout
    return Path(out.strip())


# -- what a self-hoster does ----------------------------------------------------------------------


class Served:
    """`fync serve` from the venv in a folder of its own, on a free port."""

    def __init__(self, venv: Path, folder: Path, env: dict):
        self.folder, self.port = folder, free_port()
        self.out = folder.parent / f"{folder.name}.out"
        with self.out.open("w") as out:
            self.proc = subprocess.Popen([venv / "fync", "serve", "--port", str(self.port)], cwd=folder,
                                         env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "plugins:" not in self.out.read_text() and time.monotonic() < deadline:
            assert self.proc.poll() is None, self.out.read_text()
            time.sleep(0.05)
        assert "plugins:" in self.out.read_text(), self.out.read_text()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def instance_env(database_url: str) -> dict:
    return clean_env(FYNC_DATABASE_URL=database_url) if database_url else clean_env()


def test_the_wheel_carries_code_migrations_templates_static_and_checkins(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in installed_names(tracked_files()) if f not in names]
    assert not missing, (f"missing from the wheel: {missing}; a new subpackage of gancio_like "
                         "belongs in [options] packages of setup.cfg, a new data file in [options.package_data]")
    assert sum(n.startswith("gancio_like/migrations/postgresql/") for n in names) >= 8
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[fync.plugins]\ncheckins = gancio_like.bundled_plugins.checkins" in entry_points


def installed_names(files: list[str]) -> list[str]:
    """Where each file of the checkout that Fync needs at run time sits in the wheel."""
    mapped = []
    for name in files:
        if name.startswith("gancio_like/") or name.startswith("plugins/checkins/"):
            mapped.append(name.replace("plugins/", "gancio_like/bundled_plugins/", 1))
        elif name.startswith("migrations/"):
            mapped.append("gancio_like/" + name)
    return mapped


def test_the_sdist_holds_the_same_files(source, wheel, workdir):
    dist = workdir / "sdist"
    run(sys.executable, "-m", "build", "--sdist", "--outdir", dist, source)
    sdist = next(dist.glob("fync-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        inside = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    needed = [f for f in tracked_files() if f.startswith(DATA_FILES + ("gancio_like/",))]
    assert not [f for f in needed if f not in inside], "missing from the sdist (MANIFEST.in)"
    assert {"fync.toml", "deploy/fync.service", "docs/deploy.md"} <= inside  # what docs/deploy.md copies
    again, _ = build_wheel(sdist, workdir / "from-sdist")
    assert set(zipfile.ZipFile(again).namelist()) == set(zipfile.ZipFile(wheel).namelist())


def test_an_installed_wheel_serves_from_an_empty_folder(venv, tmp_path, database_url):
    where = run(venv / "python", "-c", "import gancio_like; print(gancio_like.__file__)", cwd=tmp_path).stdout
    assert where.startswith(str(venv.parent)), where  # the wheel's copy, not the checkout's
    folder = tmp_path / "empty"
    folder.mkdir()
    server = Served(venv, folder, instance_env(database_url))
    try:
        assert "plugins:    checkins" in server.out.read_text()
        person = Account(server.url, "admin").signup()
        client = person.register(ALL_SCOPES)  # the checkins scopes exist: the plugin was found
        assert set(client["scope"].split()) == set(ALL_SCOPES.split())
        assert "checkins" in person.tokens(client)["scope"]
        assert person.http.get("/static/fync.css").status_code == 200
        italian = person.http.get("/login", headers={"Accept-Language": "it"}).text  # the wheel's .mo files
        assert '<html lang="it">' in italian and "Password dimenticata?" in italian
        assert person.http.get("/health").json() == {"status": "ok", "database": "ok", "migrations": "current"}
        person.close()
        check = run(venv / "fync", "migrate", "--check", cwd=folder, env=instance_env(database_url))
        assert "0 pending migration(s)" in check.stdout
    finally:
        code = server.stop()
    assert code == 0, server.out.read_text()


def test_the_installed_wheel_needs_no_system_zone_data_nor_fonts(venv, tmp_path):
    """Time zones come from the tzdata package and the avatar font from Pillow's own
    (issue 19): a machine without /usr/share/zoneinfo shows local times all the same."""
    empty = tmp_path / "no-zoneinfo"
    empty.mkdir()
    script = ("import zoneinfo; from gancio_like import images, timezones; "
              "assert zoneinfo.TZPATH == (%r,), zoneinfo.TZPATH; "
              "assert timezones.is_zone('Europe/Rome') and 'Asia/Tokyo' in timezones.choices(); "
              "print(timezones.local_text(1906804800, 'Europe/Rome')); "
              "print(len(images.generated('AL', (40, 90, 160)).data) > 500)" % str(empty))
    out = run(venv / "python", "-c", script, cwd=tmp_path, env=clean_env(PYTHONTZPATH=str(empty))).stdout
    assert out.split("\n")[:2] == ["Tue 4 Jun 2030, 14:00 CEST", "True"], out


@pytest.fixture
def no_core_migrations(venv, workdir):
    """The installed package without its .sql files, as a wheel built without data files was."""
    folder = site_packages(venv) / "gancio_like" / "migrations"
    hidden = workdir / "hidden-migrations"
    hidden.mkdir()
    moved = [p for p in folder.iterdir() if p.suffix == ".sql" or p.name == "postgresql"]
    for path in moved:
        path.rename(hidden / path.name)
    yield folder
    for path in moved:
        (hidden / path.name).rename(path)
    hidden.rmdir()


@pytest.mark.parametrize("command", [["serve"], ["migrate", "--check"], ["migrate"]])
def test_without_core_migrations_fync_refuses_naming_them(venv, no_core_migrations, tmp_path, command):
    started = time.monotonic()
    proc = subprocess.run([venv / "fync", *command], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip() == (f"fync: error: no core migrations in {no_core_migrations}: this "
                                   "installation of fync is incomplete (a package built without its "
                                   "data files?); reinstall it")
    assert time.monotonic() - started < 5
    assert not (tmp_path / "data").exists()  # nothing created


def test_without_core_migrations_doctor_fails_naming_them(venv, no_core_migrations, tmp_path):
    proc = subprocess.run([venv / "fync", "doctor", "--offline"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout
    line = next(line for line in proc.stdout.splitlines() if line.split()[1:2] == ["migrations"])
    assert line.startswith("FAIL") and f"no core migrations in {no_core_migrations}" in line

