"""The one save path: a file replaced only if it is as it was, never half-written, and a result never lost."""

import errno
import os
import tempfile

import pytest

from nst_helpers import NSTError
from nst_helpers.saving import ANY, save, save_new, stamp, write_file


def writes(data: bytes):
    return lambda f: f.write(data)


@pytest.mark.parametrize("hard_links", [True, False])
def test_a_file_is_replaced_only_if_it_is_as_it_was(tmp_path, monkeypatch, hard_links):
    def no_links(src, dst):  # as on a file system without them
        raise OSError(errno.EPERM, "Operation not permitted")

    if not hard_links:
        monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "out.bin"
    assert write_file(path, writes(b"first"), before=None).read_bytes() == b"first"  # nothing was there
    with pytest.raises(NSTError, match="out.bin: a file of that name appeared during the run"):
        write_file(path, writes(b"second"), before=None)
    before = stamp(path)
    write_file(path, writes(b"third"), before=before)  # as it was: replaced
    with pytest.raises(NSTError, match="out.bin: another run wrote it meanwhile"):
        write_file(path, writes(b"fourth"), before=before)
    path.unlink()  # gone during the run: written there
    assert write_file(path, writes(b"fifth"), before=before).read_bytes() == b"fifth"
    assert write_file(path, writes(b"sixth"), before=ANY).read_bytes() == b"sixth"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_result_goes_beside_its_file_else_in_the_temporary_folder_and_says_why(tmp_path, monkeypatch):
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    kept = tmp_path / "out.png"
    kept.write_bytes(b"another run's")
    saved, why = save(kept, writes(b"this run's"), before=None)
    assert saved.parent == tmp_path and saved.name.startswith("out-") and saved.suffix == ".png"
    assert why == f"cannot save {kept}: a file of that name appeared during the run"
    assert kept.read_bytes() == b"another run's" and saved.read_bytes() == b"this run's"
    (tmp_path / "file").write_text("a file, where no folder can be made")
    saved, why = save_new(tmp_path / "file" / "deeper" / "out.png", writes(b"x"))
    assert saved.parent == elsewhere and why.startswith(f"cannot save {tmp_path / 'file' / 'deeper' / 'out.png'}: ")


def test_when_nowhere_works_one_line_says_so(tmp_path):
    def broken(f):
        raise ValueError("cannot encode")

    with pytest.raises(NSTError, match="out.png: cannot encode; nor could a copy be saved beside it or in "):
        save(tmp_path / "out.png", broken)
    assert list(tmp_path.iterdir()) == []
