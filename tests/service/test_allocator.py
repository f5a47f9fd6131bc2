"""service.allocator: the serving process fixes glibc's mmap threshold, and never fails for it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from service import allocator

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_sets_the_threshold_on_glibc() -> None:
    assert allocator.fix_malloc_thresholds() is True


def test_an_operators_setting_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    calls: list[object] = []
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda *a: calls.append(a))
    assert allocator.fix_malloc_thresholds() is True
    assert calls == []  # mallopt was not called over it


def test_elsewhere_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.fix_malloc_thresholds() is False


def test_a_c_library_without_mallopt_does_not_stop_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setattr(allocator.sys, "platform", "linux")

    def no_library(*args: object) -> object:
        raise OSError("no C library here")

    monkeypatch.setattr(allocator.ctypes, "CDLL", no_library)
    assert allocator.fix_malloc_thresholds() is False


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_large_blocks_freed_go_back_to_the_system() -> None:
    """After a large block is freed, glibc's default raises its threshold, so the next large
    blocks stay in the heap when freed; with the threshold fixed they are unmapped."""
    script = textwrap.dedent(
        """
        import sys
        from service import allocator
        if sys.argv[1] == "fixed":
            allocator.fix_malloc_thresholds()
        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        big = bytearray(8 << 20); del big  # mapped, then freed: the default threshold rises
        before = rss()
        # blocks below the raised threshold, each a little larger than the holes the ones
        # before it left, freed while a small one allocated after it stays alive
        kept = []
        for i in range(40):
            block = bytearray((1 << 20) + i * (64 << 10))
            kept.append(bytearray(64))
            del block
        print(rss() - before)
        """
    )
    grown = {}
    for mode in ("default", "fixed"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        out = subprocess.run(
            [sys.executable, "-c", script, mode], capture_output=True, text=True, env=env
        )
        assert out.returncode == 0, out.stderr
        grown[mode] = int(out.stdout)
    assert grown["fixed"] < 1 << 20 < grown["default"], grown
