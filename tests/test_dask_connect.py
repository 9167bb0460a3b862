"""``--engine dask`` pointed at the wrong address: whatever answers there (nothing, a closed
port, an HTTP server, random bytes, a server that never answers), bce exits 2 within
about 30 s with one line naming the address. Each fake server runs on 127.0.0.1 in a
thread of the test, and stops by itself."""

from __future__ import annotations

import http.server
import os
import socket
import socketserver
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLE, bce_process

pytest.importorskip("distributed")

PARQUET = SAMPLE / "preds.parquet"
QUICK = {"BCE_DASK_CONNECT_TIMEOUT": "2"}  # the servers that never answer cost 2 s, not 10
HOLD = 40.0  # the longest a fake server keeps a connection open, whatever happens


def free_port() -> int:
    """A port nothing listens on: bound, then closed again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Handler(socketserver.BaseRequestHandler):
    done: threading.Event  # set when the test ends: every handler returns

    def send_slowly(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                self.request.sendall(chunk)
                if self.done.wait(0.05):
                    return
        except OSError:  # bce hung up: that is the point
            return


class RandomBytes(Handler):
    def handle(self) -> None:
        self.send_slowly(os.urandom(4096) for _ in range(200))


class Silent(Handler):
    def handle(self) -> None:
        self.done.wait(HOLD)


class DaskLengthThenGarbage(Handler):
    """A greeting whose length looks like Dask's, and then nonsense of that length."""

    def handle(self) -> None:
        self.send_slowly(iter([struct.pack("Q", 64), os.urandom(64)]))
        self.done.wait(HOLD)


class DaskLengthThenSilence(Handler):
    def handle(self) -> None:
        self.send_slowly(iter([struct.pack("Q", 64)]))
        self.done.wait(HOLD)


class QuietHTTP(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(make: Callable[[], socketserver.BaseServer]) -> Iterator[str]:
    server = make()
    server.timeout = 1
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"tcp://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(HOLD)


def tcp_server(handler: type[Handler], done: threading.Event) -> socketserver.BaseServer:
    handler.done = done
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return server


def http_server(folder: Path) -> socketserver.BaseServer:
    def handler(*args: Any) -> QuietHTTP:
        return QuietHTTP(*args, directory=str(folder))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return server


@contextmanager
def endpoint(kind: str, folder: Path) -> Iterator[str]:
    if kind == "closed port":
        yield f"tcp://127.0.0.1:{free_port()}"
        return
    if kind == "HTTP server":
        with serving(lambda: http_server(folder)) as address:
            yield address
        return
    handlers: dict[str, type[Handler]] = {
        "random bytes": RandomBytes,
        "never answers": Silent,
        "Dask length, then garbage": DaskLengthThenGarbage,
        "Dask length, then silence": DaskLengthThenSilence,
    }
    done = threading.Event()
    try:
        with serving(lambda: tcp_server(handlers[kind], done)) as address:
            yield address
    finally:
        done.set()


def score_on(address: str, *extra: str, env: dict[str, str] | None = None) -> tuple[Any, float]:
    start = time.monotonic()
    done = bce_process(
        "score", PARQUET, "--engine", "dask", "--scheduler", address, *extra, env=env, timeout=60
    )
    return done, time.monotonic() - start


def assert_one_plain_line(done: Any, address: str, took: float) -> str:
    stderr: str = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert done.stdout == b""
    assert "Traceback" not in stderr
    assert 1 <= len(stderr.splitlines()) <= 2, stderr
    assert stderr.startswith(f"Error: Cannot reach the Dask scheduler at {address}: ")
    assert "--scheduler" in stderr
    assert took < 35
    return stderr


@pytest.mark.parametrize(
    "kind, why",
    [
        ("closed port", "nothing listens there"),
        ("random bytes", "does not speak Dask's protocol"),
        ("HTTP server", "sent no Dask handshake within 2 s"),
        ("never answers", "sent no Dask handshake within 2 s"),
        ("Dask length, then garbage", "does not answer as a Dask scheduler"),
        ("Dask length, then silence", "did not say what it is within 2 s"),
    ],
)
def test_anything_but_a_scheduler_is_one_line_and_exit_2(
    tmp_path: Path, kind: str, why: str
) -> None:
    with endpoint(kind, tmp_path) as address:
        done, took = score_on(address, env=QUICK)
    stderr = assert_one_plain_line(done, address, took)
    assert why in stderr
    assert took < 15  # 2 s to wait, and the rest is starting Python


def test_a_server_that_never_answers_is_given_up_within_30_s_by_default(tmp_path: Path) -> None:
    with endpoint("never answers", tmp_path) as address:
        done, took = score_on(address)
    assert "within 10 s" in assert_one_plain_line(done, address, took)


def test_an_address_without_a_port_or_of_another_scheme_is_a_usage_error() -> None:
    for address, why in [
        ("tcp://127.0.0.1", "missing port number"),
        ("http://127.0.0.1:8787", "unknown address scheme 'http'"),
    ]:
        done, took = score_on(address)
        stderr = done.stderr.decode()
        assert done.returncode == 2 and "Traceback" not in stderr
        assert stderr.startswith(f"Error: {address} is not a Dask scheduler address (")
        assert why in stderr and len(stderr.splitlines()) == 1


def test_a_tls_address_without_tls_settings_exits_at_once_and_quietly() -> None:
    # distributed's client fails with a TypeError here, and its half-open client used
    # to wait 20 s on its way out and print a traceback.
    address = f"tls://127.0.0.1:{free_port()}"
    done, took = score_on(address)
    assert_one_plain_line(done, address, took)
    assert took < 10


def test_junit_xml_says_why_the_cluster_was_not_reached(tmp_path: Path) -> None:
    junit = tmp_path / "bce.xml"
    with endpoint("random bytes", tmp_path) as address:
        done, took = score_on(address, "--max-loss", "1", "--junit-xml", str(junit))
    stderr = assert_one_plain_line(done, address, took)
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert error is not None and "Error: " + str(error.get("message")) == stderr.strip()


def test_the_timeout_variable_must_be_a_number_of_seconds() -> None:
    done, _ = score_on("tcp://127.0.0.1:1", env={"BCE_DASK_CONNECT_TIMEOUT": "soon"})
    assert done.returncode == 2
    assert (
        done.stderr == b"Error: BCE_DASK_CONNECT_TIMEOUT must be a number of seconds, not 'soon'.\n"
    )


def test_an_in_process_scheduler_is_not_probed_as_tcp(bce: Any) -> None:
    # inproc:// (a LocalCluster of threads) has no host and port: the client connects.
    import distributed

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        assert cluster.scheduler_address.startswith("inproc://")
        args = ("--engine", "dask", "--scheduler", cluster.scheduler_address)
        run = bce("score", SAMPLE / "preds.csv", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["metrics"]["rows"] == 10_000
