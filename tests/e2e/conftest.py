"""The browser suite's fixtures: a JupyterLab server for the session, Chromium, a fresh page.

    lab_server  JupyterLab on 127.0.0.1, a free port and a random token, serving a temporary
                copy of `notebooks/` (outputs stripped, so the committed files are never
                rewritten and every output seen is from this run), in quick mode, with the
                data source CI uses (CNN_LESSON_DATA, or the synthetic set) and a temporary
                output folder. Nothing in it reaches for the network: no news, no update
                check, no extension manager. Always stopped at the end, also after a failure.
    browser     Debian's Chromium (/usr/bin/chromium), headless, driven by Playwright.
    lab         a new page at JupyterLab for one test (a `LabPage`); the test's kernels are
                shut down after it.

Missing Chromium, Playwright or JupyterLab skip the suite, unless CNN_LESSON_E2E_REQUIRED=1
(CI sets it): then they fail it. CNN_LESSON_E2E_TIMEOUT (seconds, default 1200) bounds the
whole browser session; every wait inside it is cut to fit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from lab_driver import Deadline, LabPage

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"

CHROMIUM = Path(os.environ.get("CNN_LESSON_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SESSION_SECONDS = float(os.environ.get("CNN_LESSON_E2E_TIMEOUT", "1200"))
SERVER_START_SECONDS = 90
SERVER_STOP_SECONDS = 15

# JupyterLab user settings: no news toast, no update check, every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}
LAB_CONFIG = {"LabApp": {"news_url": None,
                         "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                         "extension_manager": "readonly",
                         "expose_app_in_browser": True}}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: drives JupyterLab in Chromium (tests/e2e)")


def _required() -> bool:
    return os.environ.get("CNN_LESSON_E2E_REQUIRED", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def e2e_requirements() -> None:
    """Skip (or fail, when CNN_LESSON_E2E_REQUIRED=1) when a piece the suite needs is missing."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    for module, package in (("playwright", "playwright"), ("jupyterlab", "jupyterlab"),
                            ("ipywidgets", "ipywidgets")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the {module} package (pip install -r requirements.txt)")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if _required():
            pytest.fail(message + " (CNN_LESSON_E2E_REQUIRED=1)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def deadline(e2e_requirements) -> Deadline:
    return Deadline(SESSION_SECONDS)


@dataclass
class LabServer:
    url: str
    token: str
    root: Path  # the notebooks' temporary copy, served as the file browser's top
    output_dir: Path  # CNN_LESSON_OUTPUT of the kernels
    log: Path

    def api(self, method: str, path: str, timeout: float = 10) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _copy_notebooks(target: Path) -> None:
    """Copy `notebooks/` to `target`, with the lessons' stored outputs stripped."""
    shutil.copytree(NOTEBOOKS, target,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "output", "__pycache__"))
    for path in target.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, path)


def _stop(process: subprocess.Popen, server: LabServer | None) -> None:
    """Ask the server to shut down (it stops its kernels), then terminate, then kill."""
    if process.poll() is None and server is not None:
        try:
            server.api("POST", "/api/shutdown", timeout=5)
            process.wait(timeout=SERVER_STOP_SECONDS)
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def lab_server(deadline, tmp_path_factory) -> LabServer:
    """JupyterLab for the whole session; stopped in `finally`, whatever the tests did."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root, output_dir, home = base / "notebooks", base / "output", base / "home"
    _copy_notebooks(root)
    output_dir.mkdir()
    for name, settings in LAB_SETTINGS.items():
        path = home / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    (home / "config").mkdir(parents=True)
    (home / "config" / "jupyter_lab_config.json").write_text(json.dumps(LAB_CONFIG))

    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ)
    env.update({
        "CNN_LESSON_QUICK": "1",
        "CNN_LESSON_DATA": os.environ.get("CNN_LESSON_DATA") or "synthetic",
        "CNN_LESSON_OUTPUT": str(output_dir),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # the kernels import this checkout's `cnn_lesson`, installed or not
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
    })
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={home / 'lab-settings'}",
               f"--LabApp.workspaces_dir={home / 'lab-workspaces'}"]
    log = base / "jupyterlab.log"
    server = LabServer(f"http://127.0.0.1:{port}", token, root, output_dir, log)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # its own group: stopped as one
    try:
        end = time.monotonic() + deadline.clip(SERVER_START_SECONDS, "JupyterLab starts")
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}",
                            pytrace=False)
            try:
                server.api("GET", "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > end:
                    pytest.fail(f"JupyterLab did not answer within {SERVER_START_SECONDS} s:\n"
                                f"{server.log_tail()}", pytrace=False)
                time.sleep(0.5)
        yield server
    finally:
        _stop(process, server)


@pytest.fixture(scope="session")
def browser(deadline):
    """Headless Chromium for the session, closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab(lab_server, browser, deadline) -> LabPage:
    """A fresh page at JupyterLab (workspace reset); its kernels are shut down afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        lab_page = LabPage(page, deadline)
        page.goto(f"{lab_server.url}/lab?reset&token={lab_server.token}",
                  timeout=lab_page.timeout_ms(60, "JupyterLab loads"))
        lab_page.wait_until_ready()
        yield lab_page
    finally:
        context.close()
        try:
            lab_server.shut_down_kernels()
        except (OSError, urllib.error.URLError):
            pass  # the server is stopped at the end of the session anyway
