"""Browser tests: a real JupyterLab server and headless Chromium driven by Playwright.

Fixtures: ``lab`` (session; a JupyterLab server from this environment with ``.url``, ``.token``,
``.root``) and ``page`` (a Playwright page in the system's Chromium). Helpers for test modules in this
folder (``from .conftest import open_notebook, run_cell_containing, screenshot``):
:func:`open_notebook`, :func:`run_cell_containing`, :func:`screenshot`.

Chromium is Debian's (``apt-get install chromium``), never one downloaded by ``playwright install``.
Without it every browser test is skipped, unless ``CI`` is set: then they fail with one line, as CI
must run them. The server uses the project's JupyterLab settings (``jupyter/overrides.json``: no news
prompt, no update check) in throw-away settings and workspace folders, and exposes the app object
(``window.jupyterapp``) so the helpers can find cells without depending on what is scrolled into view.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "browser"
OVERRIDES = ROOT / "jupyter" / "overrides.json"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 90  # s for the server to answer
KERNEL_TIMEOUT = 120_000  # ms for a kernel to start / a cell to run


def chromium_path() -> str | None:
    return shutil.which("chromium")


NO_CHROMIUM = "chromium is not on PATH (apt-get install -y chromium)"


def pytest_collection_modifyitems(config, items):
    """Without chromium, skip the browser tests, unless CI is set (then :func:`require_chromium` fails them)."""
    if chromium_path() or os.environ.get("CI"):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"{NO_CHROMIUM}; browser tests skipped")
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(skip)


def require_chromium() -> str:
    """The path of chromium; skip the test without it, or fail with one line when CI is set (CI must run them)."""
    path = chromium_path()
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {NO_CHROMIUM}: the browser tests must run in CI", pytrace=False)
    pytest.skip(NO_CHROMIUM)


@dataclass
class Lab:
    url: str  # ends with "/"
    token: str
    root: Path
    process: subprocess.Popen
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings_dir(tmp: Path) -> Path:
    """The app settings folder of this environment's JupyterLab, copied, with the project's overrides."""
    app = tmp / "app-settings"
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    if installed.is_dir():
        shutil.copytree(installed, app)
    app.mkdir(exist_ok=True)
    overrides = json.loads(OVERRIDES.read_text())
    # tests only: never save the notebooks the tests run (the repository's files stay as they are)
    overrides.setdefault("@jupyterlab/docmanager-extension:plugin", {})["autosave"] = False
    (app / "overrides.json").write_text(json.dumps(overrides, indent=2))
    return app


@pytest.fixture(scope="session")
def lab():
    require_chromium()
    tmp = Path(tempfile.mkdtemp(prefix="mnistlib-lab-"))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MNISTLIB_QUICK"))}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    if os.environ.get("MNIST_DATA_DIR"):
        env["MNIST_DATA_DIR"] = os.environ["MNIST_DATA_DIR"]
    if os.environ.get("MNISTLIB_QUICK"):
        env["MNISTLIB_QUICK"] = os.environ["MNISTLIB_QUICK"]
    log = tmp / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
           f"--LabApp.app_settings_dir={_settings_dir(tmp)}", "--LabApp.expose_app_in_browser=True",
           "--KernelManager.transport_encryption=auto"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2) as r:
                json.load(r)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"JupyterLab did not start on {url}: {tail}", pytrace=False)
            time.sleep(0.5)
    try:
        yield Lab(url, token, ROOT, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def _browser():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(_browser):
    """A page in a fresh browser context (Playwright gives every launch a fresh profile folder)."""
    context = _browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


# ---------------------------------------------------------------------------- helpers

_PANEL_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return w && w.content && w.sessionContext ? w : null;
}"""


def _wait_kernel_idle(page, timeout: float = KERNEL_TIMEOUT) -> None:
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return !!k && k.status === 'idle' && !w.sessionContext.pendingInput;
        }""", timeout=timeout)


def open_notebook(page, lab, relpath: str):
    """Open ``relpath`` (relative to the repository root) in JupyterLab and wait until its kernel is idle."""
    page.goto(f"{lab.url}lab/tree/{relpath}?token={lab.token}")
    page.wait_for_function(f"""() => {{
        const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        return !!w && !!w.context && w.context.path === {json.dumps(relpath)} && w.context.isReady;
    }}""", timeout=KERNEL_TIMEOUT)
    page.locator(".jp-NotebookPanel:visible .jp-Notebook").first.wait_for(timeout=KERNEL_TIMEOUT)
    _wait_kernel_idle(page)
    return page


def run_cell_containing(page, text: str, timeout: float = KERNEL_TIMEOUT) -> int:
    """Select the first code cell whose source contains ``text``, run it with Shift+Enter and wait until
    it has run and the kernel is idle. Returns the cell's index."""
    index = page.evaluate(
        """async (text) => {
          const w = window.jupyterapp.shell.currentWidget;
          const nb = w.content;
          const i = nb.widgets.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(text));
          if (i < 0) return -1;
          nb.mode = 'command';
          nb.activeCellIndex = i;
          nb.deselectAll();
          await nb.scrollToItem(i, 'center');
          nb.node.focus();
          return i;
        }""", text)
    if index < 0:
        raise AssertionError(f"no code cell contains {text!r}")
    before = page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.executionCount", index)
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        """([i, before]) => {
          const w = window.jupyterapp.shell.currentWidget;
          const c = w.content.widgets[i].model;
          const k = w.sessionContext.session && w.sessionContext.session.kernel;
          return c.executionCount !== null && c.executionCount !== before && c.executionState !== 'running'
                 && !!k && k.status === 'idle';
        }""", arg=[index, before], timeout=timeout)
    return index


def screenshot(page, name: str, locator=None) -> Path:
    """Save build/browser/NAME.png (the whole page, or just ``locator``) and return its path."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    (locator or page).screenshot(path=str(path))
    return path
