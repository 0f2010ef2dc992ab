"""The one way files and folders are written: whole or not at all, and what was there survives a failure."""

from __future__ import annotations

import pytest

from interiorvideo.fileio import atomic_directory, atomic_write_bytes, atomic_writer


def test_a_failed_write_leaves_the_old_file_and_no_part_file(tmp_path):
    path = tmp_path / "sub" / "a.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError):
        with atomic_writer(path) as f:
            f.write(b"new, half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.bin"]
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and oct(path.stat().st_mode & 0o777) == "0o644"


def test_a_folder_appears_whole_and_replaces_only_when_asked(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_directory(target) as d:
        (d / "w.bin").write_bytes(b"1")
        assert not target.exists()  # nothing visible before the block ends
    assert (target / "w.bin").read_bytes() == b"1"
    with pytest.raises(FileExistsError):
        with atomic_directory(target) as d:
            (d / "w.bin").write_bytes(b"2")
    with pytest.raises(ValueError):
        with atomic_directory(target, replace=True) as d:
            (d / "w.bin").write_bytes(b"3")
            raise ValueError("export failed")
    assert (target / "w.bin").read_bytes() == b"1"
    with atomic_directory(target, replace=True) as d:
        (d / "w.bin").write_bytes(b"4")
    assert (target / "w.bin").read_bytes() == b"4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
