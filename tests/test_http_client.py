"""Tests of the shared HTTP client against the local department system server on 127.0.0.1.

No test sends traffic to any other address: disallowed hosts are rejected before a connection
is opened, which the server's request log confirms.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from connectors.http import (
    FetchError,
    FetchTimeoutError,
    HostNotAllowedError,
    HttpClient,
    HttpStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    parse_retry_after,
)

pytestmark = pytest.mark.usefixtures("clean_server")

SOURCE_ID = "guangan_fgj"
EXPORT_PATH = "/fgj/export/tasks.csv"


@pytest.fixture()
def client():
    with HttpClient(["127.0.0.1"], timeout_seconds=2, max_retries=2, backoff_seconds=0.01) as http_client:
        yield http_client


def test_get_returns_body_and_metadata(server, client):
    response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)

    assert response.status_code == 200
    assert response.body == server.export_body("fgj")
    assert response.request_url == server.base_url + EXPORT_PATH
    assert response.headers["Content-Type"] == "text/csv"
    assert response.content_type == "text/csv"
    assert response.fetched_at.tzinfo is timezone.utc
    assert len(response.sha256) == 64
    assert response.elapsed_seconds >= 0


def test_params_encoded_into_request_url(server, client):
    response = client.get(
        server.base_url + "/fgj/api/tasks", source_id=SOURCE_ID, params={"pageNo": 1, "pageSize": 100}
    )

    assert response.request_url == server.base_url + "/fgj/api/tasks?pageNo=1&pageSize=100"
    assert server.received_requests[-1].query == "pageNo=1&pageSize=100"


def test_retries_503_then_succeeds(server, client, caplog):
    server.queue_statuses(EXPORT_PATH, 503, 503, 200)

    with caplog.at_level(logging.WARNING, logger="connectors.http"):
        response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)

    assert response.status_code == 200
    assert len(server.received_requests) == 3
    retry_logs = [record for record in caplog.records if "retry" in record.getMessage()]
    assert len(retry_logs) == 2
    assert SOURCE_ID in retry_logs[0].getMessage()


def test_503_exhausts_retries(server, client):
    server.queue_statuses(EXPORT_PATH, 503, 503, 503, 503)

    with pytest.raises(HttpStatusError) as caught:
        client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)

    assert caught.value.status_code == 503
    assert len(server.received_requests) == 3
    assert SOURCE_ID in str(caught.value)
    assert EXPORT_PATH in str(caught.value)


def test_404_not_retried(server, client):
    with pytest.raises(HttpStatusError) as caught:
        client.get(server.base_url + "/fgj/missing", source_id=SOURCE_ID)

    assert caught.value.status_code == 404
    assert len(server.received_requests) == 1


def test_429_honours_retry_after_seconds(server, client):
    server.queue_retry_after(EXPORT_PATH, 1)

    started = time.monotonic()
    response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert len(server.received_requests) == 2
    assert elapsed >= 0.9
    assert elapsed < 5


def test_429_honours_retry_after_date(server, client):
    retry_at = datetime.now(timezone.utc) + timedelta(seconds=2)
    server.queue_retry_after(EXPORT_PATH, format_datetime(retry_at, usegmt=True))

    started = time.monotonic()
    response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    # The HTTP-date has whole seconds, so the wait is between 1 and 2 seconds.
    assert elapsed >= 0.9
    assert elapsed < 5


def test_retry_after_capped_at_maximum(server):
    server.queue_retry_after(EXPORT_PATH, 3600)

    with HttpClient(["127.0.0.1"], max_retries=1, max_retry_after_seconds=0.2) as capped_client:
        started = time.monotonic()
        response = capped_client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.15
    assert elapsed < 3


def test_parse_retry_after_values():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(" 0 ", now) == 0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None


def test_read_timeout_on_delayed_response(server):
    server.queue_delay(EXPORT_PATH, 3)
    server.queue_delay(EXPORT_PATH, 3)

    with HttpClient(["127.0.0.1"], timeout_seconds=0.3, max_retries=1, backoff_seconds=0.01) as fast_client:
        started = time.monotonic()
        with pytest.raises(FetchTimeoutError) as caught:
            fast_client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)
        elapsed = time.monotonic() - started

    assert elapsed < 2
    assert len(server.received_requests) == 2
    assert "timed out" in str(caught.value)
    assert SOURCE_ID in str(caught.value)


def test_timeout_then_success_retried(server, client):
    server.queue_delay(EXPORT_PATH, 3)

    response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID, timeout_seconds=(1, 0.3))

    assert response.status_code == 200
    assert len(server.received_requests) == 2


def test_size_cap_rejects_by_content_length(server, client):
    server.queue_oversized_body(EXPORT_PATH, 200_000)

    with pytest.raises(ResponseTooLargeError) as caught:
        client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID, max_response_bytes=100_000)

    assert caught.value.max_bytes == 100_000
    assert "Content-Length 200000" in str(caught.value)
    assert len(server.received_requests) == 1


def test_size_cap_enforced_while_streaming(server, client):
    server.queue_oversized_body(EXPORT_PATH, 5_000_000, send_content_length=False)

    with pytest.raises(ResponseTooLargeError) as caught:
        client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID, max_response_bytes=100_000)

    assert "while reading" in str(caught.value)
    assert EXPORT_PATH in str(caught.value)


def test_body_at_size_cap_accepted(server, client):
    body_size = len(server.export_body("fgj"))

    response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID, max_response_bytes=body_size)

    assert len(response.body) == body_size


def test_disallowed_host_rejected_before_sending(server, client):
    port = server.base_url.rsplit(":", 1)[1]

    for url in (f"http://127.0.0.2:{port}{EXPORT_PATH}", f"http://not-allowed.invalid:{port}{EXPORT_PATH}"):
        with pytest.raises(HostNotAllowedError) as caught:
            client.get(url, source_id=SOURCE_ID)
        assert url in str(caught.value)
        assert SOURCE_ID in str(caught.value)
    assert server.received_requests == []


def test_non_http_scheme_rejected(client):
    with pytest.raises(HostNotAllowedError):
        client.get("file:///etc/hostname", source_id=SOURCE_ID)


def test_redirect_to_disallowed_host_not_followed(server, client):
    port = server.base_url.rsplit(":", 1)[1]
    target = f"http://127.0.0.2:{port}/fgj/export/tasks.csv"
    server.queue_redirect(EXPORT_PATH, target)

    with pytest.raises(HostNotAllowedError) as caught:
        client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)

    assert caught.value.host == "127.0.0.2"
    assert caught.value.url == target
    assert len(server.received_requests) == 1


def test_redirect_within_allowed_host_followed(server, client):
    server.queue_redirect(EXPORT_PATH, "/tjj/export/tasks.csv", status=301)

    response = client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)

    assert response.status_code == 200
    assert response.request_url == server.base_url + "/tjj/export/tasks.csv"
    assert response.body == server.export_body("tjj")


def test_redirect_loop_stops(server):
    for _ in range(5):
        server.queue_redirect(EXPORT_PATH, EXPORT_PATH)

    with HttpClient(["127.0.0.1"], max_redirects=3) as limited_client:
        with pytest.raises(TooManyRedirectsError):
            limited_client.get(server.base_url + EXPORT_PATH, source_id=SOURCE_ID)

    assert len(server.received_requests) == 4


def test_connection_refused_raises_fetch_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with HttpClient(["127.0.0.1"], max_retries=1, backoff_seconds=0.01) as refused_client:
        with pytest.raises(FetchError) as caught:
            refused_client.get(f"http://127.0.0.1:{closed_port}/x", source_id=SOURCE_ID)

    assert "failed on all 2 attempts" in str(caught.value)
