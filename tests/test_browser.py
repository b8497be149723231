"""The explorer in a real browser: JupyterLab on localhost, Debian's Chromium driven by Playwright.

Open notebooks/explorer.ipynb, run all cells, move the steps slider, press Run and check that the preview
image changes; then Run a long one, press Run again (refused politely) and Stop. Then the fast mode: its
preview follows the size slider and the network menu. Screenshots go to test-artifacts/: explorer.png (after
the first run), explorer-stopped.png, explorer-lab.png (the whole page), explorer-fast.png (the fast mode).

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing; a failure instead
where NST_REQUIRE_BROWSER=1 (.ci/run sets it, after installing both).
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
SECOND = 1000  # Playwright counts in milliseconds
# True once the kernel's status has stayed 'idle' for `ms` milliseconds
IDLE_FOR = """(ms) => {
    const status = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
    if (status !== 'idle') { window.idleSince = undefined; return false; }
    window.idleSince = window.idleSince || Date.now();
    return Date.now() - window.idleSince > ms;
}"""


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium) to run the browser test"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; no browser download needed)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 (a free port, a token, no browser) in the repository, under NST_PROFILE=quick; killed at the end."""
    reason = _missing()
    if reason:
        if os.environ.get("NST_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("jupyter")
    # no news pop-up, and no autosave: the notebook in the repository stays as it is (without outputs)
    for plugin, settings in {"apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
                             "docmanager-extension/plugin": {"autosave": False}}.items():
        path = home / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {
        "NST_PROFILE": "quick", "MPLBACKEND": "Agg", "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}", "--LabApp.news_url=None",
        f"--FileCheckpoints.root_dir={home / 'checkpoints'}",  # not in the repository's notebooks/
    ] + (["--allow-root"] if os.geteuid() == 0 else [])  # CI runs as root
    log = home / "jupyterlab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"JupyterLab exited with code {server.returncode}:\n{_tail(log)}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer within 90 s:\n{_tail(log)}"
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        yield url, token, log
    finally:
        try:  # shuts its kernels down too
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/shutdown?token={token}", method="POST"), timeout=10)
            server.wait(timeout=20)
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
            pass
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_explorer_in_jupyterlab(jupyterlab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, token, log = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "explorer-failure.png").unlink(missing_ok=True)
    start = time.monotonic()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), args=FLAGS, headless=True,
            viewport={"width": 1400, "height": 1150}, timeout=60 * SECOND,
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60 * SECOND)
        try:
            page.goto(f"{url}/lab/tree/notebooks/explorer.ipynb?token={token}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell")
            # the kernel is ready when its status has stayed 'idle' for 3 s (it shows 'idle' briefly before it connects)
            page.wait_for_function(IDLE_FOR, arg=3000, polling=250, timeout=120 * SECOND)
            # should Lab still ask which kernel to use, take the one it offers (the notebook's python3)
            page.add_locator_handler(page.locator(".jp-Dialog:has-text('Select Kernel')"), lambda dialog: dialog.locator(".jp-mod-accept").click())

            # Run > Run All Cells, then wait for the explorer (the kernel imports torch first)
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-item[data-command='runmenu:run-all']")
            preview = page.locator("img.nst-preview")
            preview.wait_for(state="visible", timeout=180 * SECOND)
            before = preview.get_attribute("src")

            # drag the steps slider's handle to the left (40 -> about 20 at the quick profile)
            steps = page.locator(".nst-steps")
            readout = steps.locator(".widget-readout")
            before_steps = int(readout.inner_text())
            handle = steps.locator(".noUi-handle").bounding_box()
            x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x - 20, y, steps=5)
            page.mouse.up()
            chosen = int(readout.inner_text())
            assert 1 <= chosen < before_steps, f"the slider did not move: {before_steps} -> {chosen}"
            page.wait_for_function(IDLE_FOR, arg=1000, polling=100)  # the kernel has the new value

            # Run: the preview image changes (step 1), then the run ends after the steps the slider asked for
            page.click("button.nst-run")
            page.wait_for_function("(old) => document.querySelector('img.nst-preview').src !== old", arg=before, timeout=120 * SECOND)
            page.wait_for_function("() => document.querySelector('.nst-message').textContent.includes('Done')", timeout=120 * SECOND)
            assert f"step {chosen} / {chosen}" in page.locator(".jp-OutputArea-output").first.inner_text()
            assert preview.get_attribute("src") != before
            page.locator(".jp-OutputArea-output").first.screenshot(path=str(ARTIFACTS / "explorer.png"))

            # the kernel stays responsive during a run: a long run (slider to the far right), Run again (refused), then Stop
            handle = steps.locator(".noUi-handle").bounding_box()
            page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
            page.mouse.down()
            page.mouse.move(handle["x"] + 400, handle["y"] + handle["height"] / 2, steps=5)
            page.mouse.up()
            longest = int(readout.inner_text())
            page.wait_for_function(IDLE_FOR, arg=1000, polling=100)
            page.click("button.nst-run")
            page.wait_for_function("(n) => new RegExp(`step [1-9][0-9]* / ${n}`).test(document.querySelector('.jp-OutputArea-output').textContent)",
                                   arg=longest, timeout=120 * SECOND)
            page.click("button.nst-run")
            page.wait_for_function("() => document.querySelector('.nst-message').textContent.includes('already going')")
            page.click("button.nst-stop")
            page.wait_for_function("() => document.querySelector('.nst-message').textContent.includes('Stopped at step')", timeout=60 * SECOND)
            page.locator(".jp-OutputArea-output").first.screenshot(path=str(ARTIFACTS / "explorer-stopped.png"))
            page.screenshot(path=str(ARTIFACTS / "explorer-lab.png"))

            # the fast mode: its preview shows a stylised photo, and follows the size slider and the network menu
            fast = page.locator("img.nst-fast-preview")
            fast.scroll_into_view_if_needed()
            status = ".nst-fast-status"
            page.wait_for_function(f"() => document.querySelector('{status}').textContent.includes(' ms')", timeout=60 * SECOND)
            first, first_status = fast.get_attribute("src"), page.locator(status).inner_text()
            size = page.locator(".nst-fast-size")
            handle = size.locator(".noUi-handle").bounding_box()
            page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
            page.mouse.down()
            page.mouse.move(handle["x"] - 60, handle["y"] + handle["height"] / 2, steps=5)
            page.mouse.up()
            page.wait_for_function("(old) => document.querySelector('img.nst-fast-preview').src !== old", arg=first, timeout=60 * SECOND)
            resized = page.locator(status).inner_text()
            assert resized != first_status, f"the size slider did not change the preview: {first_status} -> {resized}"
            second = fast.get_attribute("src")
            page.locator(".nst-fast-network select").select_option("night_cafe")
            page.wait_for_function("(old) => document.querySelector('img.nst-fast-preview').src !== old", arg=second, timeout=60 * SECOND)
            assert "night_cafe" in page.locator(status).inner_text()
            page.locator(".jp-OutputArea-output").last.screenshot(path=str(ARTIFACTS / "explorer-fast.png"))
        except Exception as err:
            page.screenshot(path=str(ARTIFACTS / "explorer-failure.png"))
            raise AssertionError(f"{err}\n--- JupyterLab log ---\n{_tail(log)}") from err
        finally:
            context.close()
    print(f"browser test: {time.monotonic() - start:.0f} s in the browser")
