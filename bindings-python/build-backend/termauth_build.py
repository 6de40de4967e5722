"""The PEP 517 build backend of termauth: maturin's, with one change.

maturin, finding no `cargo` on PATH, downloads a Rust toolchain (about 900 MB, through the
`puccinialin` package) into a temporary directory and builds with it, and pip shows none of
that. A `pip install termauth` that falls back to the sdist (a platform with no wheel) then
looks hung for minutes. This backend stops instead, saying what is missing and what to do.
`TERMAUTH_INSTALL_RUST=1` restores maturin's download.

pyproject.toml names this module (`build-backend`, `backend-path`); the sdist carries it.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, Mapping, Optional

_DOWNLOAD_ALLOWED = os.environ.get("TERMAUTH_INSTALL_RUST") == "1"
if not _DOWNLOAD_ALLOWED:
    # Read by maturin's backend at each call: no puccinialin requirement, no download.
    os.environ["MATURIN_NO_INSTALL_RUST"] = "1"
# maturin warns when `build-backend` is not "maturin"; here maturin is what builds.
os.environ.setdefault("MATURIN_NO_MISSING_BUILD_BACKEND_WARNING", "1")

import maturin as _maturin  # noqa: E402  (after the environment is set)

MSRV = "1.88"

_MESSAGE = f"""
termauth: building from source needs Rust {MSRV} or newer (cargo on PATH), and no cargo was found.
  Install Rust (https://rustup.rs, or the system's packages) and run pip again. The prebuilt
  wheels, which need no Rust, are for Linux x86_64 and aarch64 with glibc 2.17 or newer
  (manylinux2014) and CPython 3.9 or newer.
  (TERMAUTH_INSTALL_RUST=1 lets maturin download a temporary Rust toolchain, about 900 MB.)
"""


def _require_cargo() -> None:
    if not _DOWNLOAD_ALLOWED and shutil.which("cargo") is None:
        sys.stderr.write(_MESSAGE)
        sys.stderr.flush()
        sys.exit(1)


def get_requires_for_build_wheel(config_settings: Optional[Mapping[str, Any]] = None) -> "list[str]":
    _require_cargo()
    return list(_maturin.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_editable(config_settings: Optional[Mapping[str, Any]] = None) -> "list[str]":
    _require_cargo()
    return list(_maturin.get_requires_for_build_editable(config_settings))


def get_requires_for_build_sdist(config_settings: Optional[Mapping[str, Any]] = None) -> "list[str]":
    _require_cargo()
    return list(_maturin.get_requires_for_build_sdist(config_settings))


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Mapping[str, Any]] = None) -> str:
    _require_cargo()
    return str(_maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings))


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Optional[Mapping[str, Any]] = None) -> str:
    _require_cargo()
    return str(_maturin.prepare_metadata_for_build_editable(metadata_directory, config_settings))


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_cargo()
    return str(_maturin.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_cargo()
    return str(_maturin.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: Optional[Mapping[str, Any]] = None) -> str:
    _require_cargo()
    return str(_maturin.build_sdist(sdist_directory, config_settings))
