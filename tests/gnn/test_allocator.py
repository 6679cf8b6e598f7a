"""Keeping freed memory is a glibc setting: applied under glibc, refused elsewhere, harmless to repeat."""

from __future__ import annotations

import platform

import pytest

from gnn.allocator import retain_freed_memory

pytestmark = pytest.mark.unit


def test_the_allocator_setting_applies_under_glibc_and_may_be_repeated() -> None:
    expected = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert retain_freed_memory() is expected
    assert retain_freed_memory() is expected
