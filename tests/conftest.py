"""Shared test helpers: run the CLI in-process or as a real process, validate reports."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        validate_report(document)
        return document


_VALIDATOR: Any = None


def validate_report(document: dict[str, Any]) -> None:
    """Every report the tests make is checked against the shipped JSON Schema."""
    global _VALIDATOR
    if _VALIDATOR is None:
        from jsonschema import Draft202012Validator

        from bcecli.report.jsonout import load_schema

        _VALIDATOR = Draft202012Validator(load_schema())
    _VALIDATOR.validate(document)


@pytest.fixture
def bce(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """bce(*args) runs the CLI's main() in-process and returns a Run."""
    from bcecli.cli import main

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("BCE_TRACEBACK", raising=False)

    def run(*args: Any) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        if "--format" in args and "json" in args and code in (0, 1):
            json.loads(out)
        return Run(code, out, err)

    return run


def bce_process(
    *args: Any, input: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """Run bce as a real process (python -m bcecli), with stdin bytes if given."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "BCE_TRACEBACK")}
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bcecli", *[str(a) for a in args]],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def clear_filesystems() -> None:
    """Forget the object-store filesystems bce made, so the next one sees the current
    environment (another endpoint, other credentials)."""
    from bcecli.io.filesystems import _bucket_filesystem

    _bucket_filesystem.cache_clear()


@contextmanager
def moto_s3(bucket: str, uploads: Mapping[str, Path]) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with ``uploads`` (key -> file) in ``bucket``; bce,
    here and in every child process, finds it through the standard AWS variables only.
    Yields the endpoint URL."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=bucket)
        for key, path in uploads.items():
            client.upload_file(str(path), bucket, key)
        clear_filesystems()
        try:
            yield endpoint
        finally:
            clear_filesystems()
            server.stop()


# -- the C kernel's paths against the pure-Python path, in one process -------------------

# Every module that looks the kernel up (``bcecli._native.kernel``, read at import).
KERNEL_USERS = (
    "bcecli.scoring.native_csv",
    "bcecli.scoring.native_arrow",
    "bcecli.core.accumulate",
)


def both(bce: Any, monkeypatch: pytest.MonkeyPatch, *args: Any) -> tuple[Run, Run]:
    """The CLI's run with the kernel, then without it (switched off where it is looked
    up, as ``BCE_NATIVE=0`` does for a whole process)."""
    import importlib

    fast = bce(*args)
    with monkeypatch.context() as pure:
        for name in KERNEL_USERS:
            pure.setattr(importlib.import_module(name), "kernel", None)
        slow = bce(*args)
    return fast, slow


def count_kernel_calls(monkeypatch: pytest.MonkeyPatch, module: Any, function: str) -> list[bool]:
    """Each call of the kernel's ``function`` made through ``module``: True where the
    kernel scored what it was handed (returned something other than None)."""
    from bcecli._native import kernel

    calls: list[bool] = []
    assert kernel is not None
    real = getattr(kernel, function)

    def counting(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return counting if name == function else getattr(kernel, name)

    monkeypatch.setattr(module, "kernel", Counting())
    return calls
