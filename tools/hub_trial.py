"""Run a notebook for several JupyterHub users at once, through the hub, and measure each (docs/teaching.md).

    python tools/hub_trial.py notebooks/02_content_reconstruction.ipynb alice,bob,carol --token-file TOKEN
        [--hub http://127.0.0.1:8000] [--profile lab]

Needs a running hub (docs/teaching.md has the configuration of the trial) with a service token allowed the scopes
admin:servers, access:servers and read:users, and, to read memory and CPU from /proc, to run as root on the hub's
machine; `requests` and `websocket-client` (the hub's environment has the first). For each user: a fresh server
through the hub's REST API, the notebook put in their home through that server, run there cell by cell in one
kernel (all users at once), a last cell that saves an image with `save_image(..., output_dir() / ...)`, and the
executed notebook saved back as ``ran_NAME``. Prints, per user, the wall time, the kernel's CPU time and peak
memory, the server's memory and where the image went.
"""

from __future__ import annotations

import argparse
import json
import pwd
import threading
import time
import uuid
from pathlib import Path

import requests
import websocket

LAST_CELL = """import os
from nst_helpers import images_dir, load_image, output_dir, save_image
out = output_dir()
out.mkdir(parents=True, exist_ok=True)
print(save_image(load_image(images_dir() / "content" / "dog.jpg", size=64), out / "dog.png"), os.getuid())"""


class Hub:
    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token
        self.headers = {"Authorization": f"token {token}"}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers=self.headers, timeout=60, **kwargs)

    def fresh_server(self, user: str) -> None:
        """Stop ``user``'s server if one runs, start one and wait until it is ready."""
        self.api("DELETE", f"/hub/api/users/{user}/server")
        while self.api("GET", f"/hub/api/users/{user}").json().get("servers"):
            time.sleep(0.5)
        self.api("POST", f"/hub/api/users/{user}/server").raise_for_status()
        while not self.api("GET", f"/hub/api/users/{user}").json().get("servers", {}).get("", {}).get("ready"):
            time.sleep(0.5)


def _decode(frame: str | bytes) -> dict:
    """A kernel message from the websocket: JSON text, or the binary form that carries buffers (widgets)."""
    if isinstance(frame, str):
        return json.loads(frame)
    count = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 + 4 * i : 8 + 4 * i], "big") for i in range(count)] + [len(frame)]
    return json.loads(frame[offsets[0] : offsets[1]])


def _execute(ws: websocket.WebSocket, session: str, code: str) -> tuple[list[dict], str | None]:
    """Run ``code`` in the kernel; its outputs, and the error's name and value if it failed."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                                   "username": "", "version": "5.3"}, "parent_header": {}, "metadata": {},
                        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                    "allow_stdin": False, "stop_on_error": True}, "channel": "shell"}))
    outputs, error, idle, replied = [], None, False, False
    while not (idle and replied):
        msg = _decode(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        idle = idle or (kind == "status" and content["execution_state"] == "idle")
        if kind == "execute_reply":
            replied = True
            error = None if content["status"] == "ok" else f"{content.get('ename')}: {content.get('evalue')}"
        elif kind == "stream":
            outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
        elif kind in ("display_data", "execute_result"):
            outputs.append({"output_type": "display_data", "data": content["data"], "metadata": {}})
        elif kind == "error":
            outputs.append({"output_type": "error", **{k: content[k] for k in ("ename", "evalue", "traceback")}})
    return outputs, error


def _processes(user: str) -> dict[str, Path]:
    """The /proc folders of ``user``'s single-user server and kernel."""
    found, uid = {}, pwd.getpwnam(user).pw_uid
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                command = (proc / "cmdline").read_bytes().decode(errors="replace")
                found["kernel" if "ipykernel" in command else "server" if "singleuser" in command else "other"] = proc
        except OSError:
            continue
    return found


def _megabytes(proc: Path, field: str) -> int:
    line = next(line for line in (proc / "status").read_text().splitlines() if line.startswith(field + ":"))
    return round(int(line.split()[1]) / 1024)


def _cpu_seconds(proc: Path) -> float:
    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in ticks of 1/100 s


def run(hub: Hub, user: str, notebook: Path, profile: str | None, report: dict) -> None:
    """Put ``notebook`` in ``user``'s home, run it there through the hub, and record what it cost."""
    nb, name, base = json.loads(notebook.read_text()), notebook.name, f"/user/{user}/api"
    cells = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    nb["cells"].append({"cell_type": "code", "id": "hub-trial", "metadata": {}, "source": LAST_CELL, "outputs": [],
                        "execution_count": None})
    hub.api("PUT", f"{base}/contents/{name}", json={"type": "notebook", "format": "json", "content": nb})
    session = hub.api("POST", f"{base}/sessions", json={"path": name, "type": "notebook", "name": name,
                                                        "kernel": {"name": "python3"}}).json()
    kernel = session["kernel"]["id"]
    ws = websocket.create_connection(f"{hub.url.replace('http', 'ws', 1)}{base}/kernels/{kernel}/channels",
                                     header=[f"Authorization: token {hub.token}"], timeout=3600)
    start, error = time.perf_counter(), None
    if profile:
        _execute(ws, kernel, f"import os; os.environ['NST_PROFILE'] = {profile!r}")
    for cell in [*cells, nb["cells"][-1]]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cell["outputs"], error = _execute(ws, kernel, source)
        if error:
            break
    seconds, procs = time.perf_counter() - start, _processes(user)
    report[user] = {"seconds": round(seconds, 1), "error": error, "kernel_cpu_s": _cpu_seconds(procs["kernel"]),
                    "kernel_peak_mb": _megabytes(procs["kernel"], "VmHWM"),
                    "server_mb": _megabytes(procs["server"], "VmRSS"),
                    "saved": "".join(o.get("text", "") for o in nb["cells"][-1]["outputs"]).strip()}
    ws.close()
    hub.api("PUT", f"{base}/contents/ran_{name}", json={"type": "notebook", "format": "json", "content": nb})
    hub.api("DELETE", f"{base}/sessions/{session['id']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("users", help="comma-separated user names")
    parser.add_argument("--token-file", type=Path, required=True, help="the service token")
    parser.add_argument("--hub", default="http://127.0.0.1:8000")
    parser.add_argument("--profile", help="NST_PROFILE for this run (default: the servers' own)")
    args = parser.parse_args()
    hub, users, report = Hub(args.hub, args.token_file.read_text().strip()), args.users.split(","), {}
    for user in users:
        hub.fresh_server(user)
    threads = [threading.Thread(target=run, args=(hub, user, args.notebook, args.profile, report)) for user in users]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({**report, "all_seconds": round(time.perf_counter() - start, 1)}, indent=1))


if __name__ == "__main__":
    main()
