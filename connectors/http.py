"""The one HTTP client that every connector shares.

:class:`HttpClient` wraps a single :class:`requests.Session`. It sets a (connect, read) timeout
on every call and retries with exponential backoff that honours ``Retry-After``. It limits the
body size and checks a host allow-list before every request and every redirect. Bodies are
returned as bytes, and :mod:`connectors.decoding` turns them into text.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from connectors.errors import (
    FetchError,
    FetchTimeoutError,
    HostNotAllowedError,
    HttpStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)

__all__ = [
    "FetchError",
    "FetchTimeoutError",
    "HostNotAllowedError",
    "HttpClient",
    "HttpResponse",
    "HttpStatusError",
    "ResponseTooLargeError",
    "TooManyRedirectsError",
    "normalize_host",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
STREAM_CHUNK_BYTES = 64 * 1024
DEFAULT_USER_AGENT = "Huiju/0.1 (service catalog harvester)"

Timeout = float | tuple[float, float]


@dataclass(frozen=True)
class HttpResponse:
    """A response as fetched: status, headers and the body bytes, with fetch metadata.

    ``request_url`` is the URL of the request that produced this response, including its query
    string; after a redirect it is the redirect target. ``body`` is the payload after HTTP
    content-coding (gzip, deflate) is removed, with no charset decoding.
    """

    request_url: str
    status_code: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    sha256: str
    elapsed_seconds: float

    @property
    def content_type(self) -> str | None:
        """Value of the Content-Type header, or ``None`` when the server sent none."""
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                return value
        return None


class HttpClient:
    """Fetch URLs for the connectors through one shared :class:`requests.Session`.

    Every keyword of the constructor is a default that :meth:`get` can override per call, so one
    client serves sources with different limits. Requests are GET only, and the client follows
    redirects itself so that it can check each target host against ``allowed_hosts``.

    ``trust_env=False`` (the default) ignores proxy settings and ``.netrc`` from the
    environment. Set it to True where requests must go through a proxy named in ``HTTPS_PROXY``.

    NOTE: the read timeout applies to each socket read, not to the whole body, so a server that
    sends a few bytes at a time can keep one attempt open longer than ``timeout_seconds``.
    The size limit still bounds such a response.

    NOTE: requests does not document :class:`requests.Session` as thread-safe, so give each
    thread its own client when fetching sources in parallel.
    """

    def __init__(
        self,
        allowed_hosts: Iterable[str],
        *,
        timeout_seconds: Timeout = 10.0,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        max_retry_after_seconds: float = 120.0,
        max_response_bytes: int = 20_000_000,
        max_redirects: int = 5,
        user_agent: str = DEFAULT_USER_AGENT,
        trust_env: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.allowed_hosts = frozenset(normalize_host(host) for host in allowed_hosts)
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.max_response_bytes = max_response_bytes
        self.max_redirects = max_redirects
        self._sleep = sleep

        self.session = requests.Session()
        self.session.trust_env = trust_env
        self.session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        source_id: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: Timeout | None = None,
        max_retries: int | None = None,
        backoff_seconds: float | None = None,
        max_response_bytes: int | None = None,
    ) -> HttpResponse:
        """GET ``url`` with ``params`` and return the final response after redirects and retries.

        A 304 Not Modified response to a conditional request is returned like a 200, with
        its status and an empty body, and is never retried.

        Raises:
            HostNotAllowedError: the URL or a redirect target is not an allowed http(s) host.
            TooManyRedirectsError: more than ``max_redirects`` redirects.
            ResponseTooLargeError: the body exceeds ``max_response_bytes``.
            HttpStatusError: a 4xx status, or 429 and 5xx when the retries are used up.
            FetchTimeoutError: the connection or a read timed out on every attempt.
            FetchError: any other connection failure on every attempt.
        """
        options = _RequestOptions(
            source_id=source_id,
            headers=dict(headers or {}),
            timeout=_as_timeout_pair(self.timeout_seconds if timeout_seconds is None else timeout_seconds),
            max_retries=self.max_retries if max_retries is None else max_retries,
            backoff_seconds=self.backoff_seconds if backoff_seconds is None else backoff_seconds,
            max_response_bytes=self.max_response_bytes if max_response_bytes is None else max_response_bytes,
        )
        try:
            current_url = requests.Request("GET", url, params=params).prepare().url or url
        except (requests.RequestException, ValueError) as error:
            raise FetchError(f"Source {source_id}: invalid URL {url!r} ({error})", source_id=source_id, url=url) from error

        for _ in range(self.max_redirects + 1):
            self._check_allowed(current_url, source_id)
            response = self._get_with_retries(current_url, options)
            if response.status_code not in REDIRECT_STATUSES:
                return self._check_status(response, source_id)

            location = header_value(response.headers, "Location")
            if not location:
                raise HttpStatusError(
                    f"Source {source_id}: redirect {response.status_code} from {current_url} has no Location header",
                    source_id=source_id,
                    url=current_url,
                    status_code=response.status_code,
                )
            next_url = urljoin(current_url, location)
            logger.info("Source %s: following redirect %d from %s to %s", source_id, response.status_code, current_url, next_url)
            current_url = next_url

        raise TooManyRedirectsError(
            f"Source {source_id}: more than {self.max_redirects} redirects starting at {url}",
            source_id=source_id,
            url=url,
        )

    # One hop: send with retries

    def _get_with_retries(self, url: str, options: _RequestOptions) -> HttpResponse:
        attempts = options.max_retries + 1
        for attempt in range(1, attempts + 1):
            is_last_attempt = attempt == attempts
            try:
                response = self._send_once(url, options)
            except requests.exceptions.SSLError as error:
                # A certificate or TLS failure does not go away on retry.
                raise FetchError(
                    f"Source {options.source_id}: TLS handshake with {url} failed ({error})",
                    source_id=options.source_id,
                    url=url,
                ) from error
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                if is_last_attempt:
                    raise _connection_failure(error, url, options.source_id, attempts) from error
                wait = self._backoff(attempt, options.backoff_seconds)
                logger.warning(
                    "Source %s: request to %s failed (%s: %s); retry %d of %d in %.2f s",
                    options.source_id, url, type(error).__name__, error, attempt, options.max_retries, wait,
                )
                self._sleep(wait)
                continue
            except requests.RequestException as error:
                raise FetchError(
                    f"Source {options.source_id}: request to {url} failed ({type(error).__name__}: {error})",
                    source_id=options.source_id,
                    url=url,
                ) from error

            if not _is_retryable_status(response.status_code) or is_last_attempt:
                return response

            wait = self._retry_wait(response, attempt, options)
            logger.warning(
                "Source %s: %s returned HTTP %d; retry %d of %d in %.2f s",
                options.source_id, url, response.status_code, attempt, options.max_retries, wait,
            )
            self._sleep(wait)

        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send_once(self, url: str, options: _RequestOptions) -> HttpResponse:
        started = time.monotonic()
        fetched_at = datetime.now(timezone.utc)
        with self.session.get(
            url, headers=options.headers, timeout=options.timeout, allow_redirects=False, stream=True
        ) as response:
            body = self._read_body(response, url, options)
            headers = dict(response.headers)
            status_code = response.status_code

        return HttpResponse(
            request_url=url,
            status_code=status_code,
            headers=headers,
            body=body,
            fetched_at=fetched_at,
            sha256=hashlib.sha256(body).hexdigest(),
            elapsed_seconds=time.monotonic() - started,
        )

    def _read_body(self, response: requests.Response, url: str, options: _RequestOptions) -> bytes:
        """Read the body in chunks and stop as soon as it exceeds the size limit."""
        limit = options.max_response_bytes
        declared_length = header_value(response.headers, "Content-Length")
        if declared_length is not None and declared_length.strip().isdigit() and int(declared_length) > limit:
            raise ResponseTooLargeError(
                f"Source {options.source_id}: response from {url} declares Content-Length "
                f"{int(declared_length)} bytes, over the limit of {limit} bytes",
                source_id=options.source_id,
                url=url,
                max_bytes=limit,
            )

        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_content(chunk_size=STREAM_CHUNK_BYTES):
            received += len(chunk)
            if received > limit:
                raise ResponseTooLargeError(
                    f"Source {options.source_id}: response from {url} exceeded the limit of {limit} bytes while reading",
                    source_id=options.source_id,
                    url=url,
                    max_bytes=limit,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    # Checks and waits

    def _check_allowed(self, url: str, source_id: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ALLOWED_SCHEMES or not host:
            raise HostNotAllowedError(
                f"Source {source_id}: URL {url} is not an http(s) URL with a host",
                source_id=source_id,
                url=url,
                host=host,
            )
        if normalize_host(host) not in self.allowed_hosts:
            raise HostNotAllowedError(
                f"Source {source_id}: host {host} of {url} is not in the allow-list "
                f"{sorted(self.allowed_hosts)}; add it to allowed_hosts in the source registry if it is trusted",
                source_id=source_id,
                url=url,
                host=host,
            )

    def _check_status(self, response: HttpResponse, source_id: str) -> HttpResponse:
        if response.status_code < 400:
            return response
        raise HttpStatusError(
            f"Source {source_id}: {response.request_url} returned HTTP {response.status_code}",
            source_id=source_id,
            url=response.request_url,
            status_code=response.status_code,
        )

    def _backoff(self, attempt: int, backoff_seconds: float) -> float:
        return min(backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)

    def _retry_wait(self, response: HttpResponse, attempt: int, options: _RequestOptions) -> float:
        """Return the wait before the next attempt: ``Retry-After`` if valid, else exponential backoff."""
        header = header_value(response.headers, "Retry-After")
        if header is None:
            return self._backoff(attempt, options.backoff_seconds)

        retry_after = parse_retry_after(header)
        if retry_after is None:
            logger.warning(
                "Source %s: ignoring invalid Retry-After header %r from %s", options.source_id, header, response.request_url
            )
            return self._backoff(attempt, options.backoff_seconds)
        if retry_after > self.max_retry_after_seconds:
            logger.warning(
                "Source %s: Retry-After of %.0f s from %s exceeds the maximum; waiting %.0f s",
                options.source_id, retry_after, response.request_url, self.max_retry_after_seconds,
            )
            return self.max_retry_after_seconds
        return retry_after


@dataclass(frozen=True)
class _RequestOptions:
    source_id: str
    headers: dict[str, str]
    timeout: tuple[float, float]
    max_retries: int
    backoff_seconds: float
    max_response_bytes: int


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` value, delay-seconds or an HTTP-date, into seconds from ``now``.

    Returns ``None`` for a value that is neither. A date in the past gives 0.
    """
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)

    try:
        retry_at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if retry_at.tzinfo is None:
        # RFC 9110 HTTP-dates are always GMT, so a date without a zone is taken as UTC.
        retry_at = retry_at.replace(tzinfo=timezone.utc)
    reference = now or datetime.now(timezone.utc)
    return max((retry_at - reference).total_seconds(), 0.0)


def normalize_host(host: str) -> str:
    """Return ``host`` in the form the allow-list compares: lower case, no trailing dot, no brackets."""
    return host.strip().lower().rstrip(".").strip("[]")


def _is_retryable_status(status_code: int) -> bool:
    return status_code == 429 or 500 <= status_code <= 599


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Return the value of header ``name``, matched case-insensitively, or None."""
    expected_name = name.lower()
    for key, value in headers.items():
        if key.lower() == expected_name:
            return value
    return None


def _as_timeout_pair(timeout: Timeout) -> tuple[float, float]:
    if isinstance(timeout, tuple):
        return timeout
    return (timeout, timeout)


def _is_timeout(error: Exception) -> bool:
    # requests wraps a read timeout during iter_content() in ConnectionError, not Timeout.
    if isinstance(error, requests.Timeout):
        return True
    return bool(error.args) and isinstance(error.args[0], urllib3.exceptions.TimeoutError)


def _connection_failure(error: Exception, url: str, source_id: str, attempts: int) -> FetchError:
    if _is_timeout(error):
        return FetchTimeoutError(
            f"Source {source_id}: request to {url} timed out on all {attempts} attempts ({error})",
            source_id=source_id,
            url=url,
        )
    return FetchError(
        f"Source {source_id}: request to {url} failed on all {attempts} attempts ({type(error).__name__}: {error})",
        source_id=source_id,
        url=url,
    )
