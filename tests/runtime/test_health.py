"""HealthServer: kube-apiserver style probe answers, and the minimal HTTP responder."""

from __future__ import annotations

import asyncio

from mizzen.runtime.clock import RealClock
from mizzen.runtime.health import HealthServer


def make_server() -> HealthServer:
    server = HealthServer(RealClock(), lambda: (b"# metrics\n", "text/plain; version=0.0.4"))
    server.add_ready_check("cache", lambda: None)
    return server


def test_all_checks_passing_answer_ok() -> None:
    server = make_server()
    assert server.respond("GET", "/healthz") == (200, "text/plain; charset=utf-8", b"ok")
    assert server.respond("GET", "/livez")[0] == 200
    status, _, body = server.respond("GET", "/readyz?verbose")
    assert status == 200
    assert body == b"[+]ping ok\n[+]cache ok\nreadyz check passed\n"


def test_a_failing_check_fails_the_endpoint_with_its_reason() -> None:
    server = make_server()
    server.add_ready_check("informers", lambda: "not synced: pods")

    def broken() -> str | None:
        raise RuntimeError("boom")

    server.add_health_check("broken", broken)
    status, _, body = server.respond("GET", "/readyz")
    assert status == 500
    assert b"[-]informers failed: not synced: pods" in body
    assert body.endswith(b"readyz check failed\n")
    assert b"RuntimeError: boom" in server.respond("GET", "/healthz")[2]


def test_single_checks_metrics_and_errors() -> None:
    server = make_server()
    assert server.respond("GET", "/readyz/cache") == (200, "text/plain; charset=utf-8", b"ok")
    assert server.respond("GET", "/readyz/nope")[0] == 404
    assert server.respond("GET", "/metrics") == (200, "text/plain; version=0.0.4",
                                                 b"# metrics\n")
    assert server.respond("GET", "/other")[0] == 404
    assert server.respond("POST", "/healthz")[0] == 405


async def http_get(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


async def test_serves_over_a_socket_one_request_per_connection() -> None:
    server = make_server()
    await server.start()
    try:
        assert server.port != 0
        answer = await http_get(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Length: 2\r\n" in answer and b"Connection: close" in answer
        assert answer.endswith(b"\r\n\r\nok")
        head = await http_get(server.port, b"HEAD /healthz HTTP/1.1\r\n\r\n")
        assert head.endswith(b"\r\n\r\n")
        bad = await http_get(server.port, b"nonsense\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 ")
    finally:
        await server.stop()
