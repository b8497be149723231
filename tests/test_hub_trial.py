"""tools/hub_trial.py reads the kernel's websocket messages in both forms (the hub run itself needs root and a hub:
docs/teaching.md has its figures)."""

import importlib.util
import json

from .conftest import ROOT

spec = importlib.util.spec_from_file_location("hub_trial", ROOT / "tools" / "hub_trial.py")
hub_trial = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hub_trial)


def test_a_message_is_read_from_text_and_from_the_binary_form_with_buffers():
    msg = {"msg_type": "display_data", "content": {"data": {}}, "parent_header": {"msg_id": "a"}}
    assert hub_trial._decode(json.dumps(msg)) == msg
    body, buffer = json.dumps(msg).encode(), b"\x89PNG...."
    offsets = [4 + 4 * 2, 4 + 4 * 2 + len(body)]  # two parts: the message, then one buffer
    frame = (2).to_bytes(4, "big") + b"".join(o.to_bytes(4, "big") for o in offsets) + body + buffer
    assert hub_trial._decode(frame) == msg
