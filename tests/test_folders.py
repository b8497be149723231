"""The shipped images are found wherever a notebook is opened: in a checkout, as a lone copy, or through NST_IMAGES."""

import json

import pytest

from nst_helpers import ImageError, folders, images_dir, output_dir
from nst_helpers.folders import checkout, shipped_images

from .conftest import ROOT


def fake_checkout(path):
    (path / "images" / "content").mkdir(parents=True)
    (path / "notebooks").mkdir()
    return path


def test_the_checkout_is_found_from_any_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(folders.IMAGES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # a lone copy of a notebook: nothing around it
    assert checkout() == ROOT and images_dir() == ROOT / "images"
    assert (images_dir() / "content" / "astronaut.png").is_file()
    assert output_dir() == ROOT / "outputs"
    assert "swirls.png" in shipped_images("style") and "astronaut.png" not in shipped_images("style")


def test_a_package_installed_from_a_checkout_finds_it_through_pip_s_record(monkeypatch, tmp_path):
    source = fake_checkout(tmp_path / "src")
    monkeypatch.setattr(folders, "__file__", str(tmp_path / "site-packages" / "nst_helpers" / "folders.py"))

    class Record:  # what pip writes for `pip install /path/to/checkout` (PEP 610)
        def read_text(self, name):
            return json.dumps({"url": source.as_uri(), "dir_info": {}}) if name == "direct_url.json" else None

    monkeypatch.setattr(folders.metadata, "distribution", lambda name: Record())
    monkeypatch.delenv(folders.IMAGES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert images_dir() == source / "images"


def test_an_installed_package_s_own_images_come_before_any_checkout(monkeypatch, tmp_path):
    packaged = tmp_path / "site-packages" / "nst_helpers" / "shipped_images"
    (packaged / "content").mkdir(parents=True)
    monkeypatch.setattr(folders, "PACKAGED_IMAGES", packaged)
    monkeypatch.delenv(folders.IMAGES_ENV, raising=False)
    assert images_dir() == packaged


def test_the_wheel_maps_the_images_into_the_package():
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["nst_helpers.shipped_images"] == "images"
    assert folders.PACKAGED_IMAGES.name == "shipped_images"
    for kind in ("content", "style", "train"):
        assert f"nst_helpers.shipped_images.{kind}" in setuptools["packages"]
        patterns = setuptools["package-data"][f"nst_helpers.shipped_images.{kind}"]
        assert {p.suffix for p in (ROOT / "images" / kind).iterdir()} <= {pattern[1:] for pattern in patterns}
    assert "nst_helpers.shipped_images.reference" in setuptools["packages"]  # the reference figures, with their record
    assert setuptools["package-data"]["nst_helpers.shipped_images.reference"] == ["*.jpg", "references.json"]


def test_nst_images_names_the_folder_outright(monkeypatch, tmp_path):
    (tmp_path / "content").mkdir()
    monkeypatch.setenv(folders.IMAGES_ENV, str(tmp_path))
    assert images_dir() == tmp_path
    monkeypatch.setenv(folders.IMAGES_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ImageError, match="NST_IMAGES=.* has no content/ folder") as err:
        images_dir()
    assert "\n" not in str(err.value)


def test_without_a_checkout_a_one_line_error_and_outputs_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.setattr(folders, "_candidates", lambda: iter([tmp_path]))
    monkeypatch.delenv(folders.IMAGES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageError, match="images/ folder was not found.*set NST_IMAGES") as err:
        images_dir()
    assert "\n" not in str(err.value)
    assert shipped_images("content", "style") == {}
    assert output_dir() == tmp_path / "outputs"


def test_outputs_go_to_the_home_folder_where_the_checkout_is_not_writable(monkeypatch, tmp_path, capsys):
    # A shared install: the checkout belongs to someone else (tests run as root, so access is patched).
    monkeypatch.setattr(folders, "_candidates", lambda: iter([ROOT]))
    monkeypatch.setattr(folders.Path, "home", lambda: tmp_path)
    assert output_dir() == ROOT / "outputs" and capsys.readouterr().out == ""
    monkeypatch.setattr(folders.os, "access", lambda path, mode: not str(path).startswith(str(ROOT)))
    assert output_dir() == tmp_path / "nst_outputs"
    out = capsys.readouterr().out
    assert "not writable" in out and str(tmp_path / "nst_outputs") in out and out.count("\n") == 1


def test_outputs_go_to_the_temporary_folder_where_the_home_folder_is_not_writable_either(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(folders, "_candidates", lambda: iter([ROOT]))
    monkeypatch.setattr(folders.Path, "home", lambda: tmp_path / "home")
    monkeypatch.setattr(folders.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(folders.os, "access", lambda path, mode: str(path).startswith(str(tmp_path / "tmp")))
    folder = output_dir()  # was ~/nst_outputs, whose mkdir was a raw PermissionError
    assert folder.parent == tmp_path / "tmp" and folder.name.startswith("nst_outputs")
    out = capsys.readouterr().out
    assert "not writable" in out and str(folder) in out and out.count("\n") == 1
    monkeypatch.setattr(folders.os, "access", lambda path, mode: False)
    with pytest.raises(ImageError, match="nowhere to save results: .*outputs, .*nst_outputs and .*cannot be written"):
        output_dir()
