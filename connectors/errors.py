"""Exceptions of the connectors. Every message names the source id and the URL involved.

Catch :class:`ConnectorError` to handle any failure of one source, or :class:`FetchError` for
failures of the HTTP exchange alone.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of all errors raised while harvesting a source."""

    def __init__(self, message: str, *, source_id: str, url: str) -> None:
        super().__init__(message)
        self.source_id = source_id
        self.url = url


class FetchError(ConnectorError):
    """An HTTP request failed: connection error, timeout, rejected URL or unusable response."""


class FetchTimeoutError(FetchError):
    """The connection or a read timed out on every attempt."""


class HostNotAllowedError(FetchError):
    """A request or a redirect targets a host that is not in the allow-list."""

    def __init__(self, message: str, *, source_id: str, url: str, host: str | None) -> None:
        super().__init__(message, source_id=source_id, url=url)
        self.host = host


class TooManyRedirectsError(FetchError):
    """A request was redirected more often than the client's limit."""


class ResponseTooLargeError(FetchError):
    """A response body exceeds the size limit, by its Content-Length or while it is read."""

    def __init__(self, message: str, *, source_id: str, url: str, max_bytes: int) -> None:
        super().__init__(message, source_id=source_id, url=url)
        self.max_bytes = max_bytes


class HttpStatusError(FetchError):
    """The final response has an error status (4xx, or 429 and 5xx after all retries)."""

    def __init__(self, message: str, *, source_id: str, url: str, status_code: int) -> None:
        super().__init__(message, source_id=source_id, url=url)
        self.status_code = status_code


class DecodeError(ConnectorError):
    """A response body is not valid text in any encoding that was tried.

    ``offset`` is the byte offset of the first invalid byte for the last encoding tried, and
    ``attempts`` lists ``(encoding, offset)`` for every encoding tried.
    """

    def __init__(
        self, message: str, *, source_id: str, url: str, attempts: tuple[tuple[str, int], ...]
    ) -> None:
        super().__init__(message, source_id=source_id, url=url)
        self.attempts = attempts
        self.offset = attempts[-1][1] if attempts else 0


class ResponseFormatError(ConnectorError):
    """A decoded response does not have the expected structure, e.g. the records path is missing."""

    def __init__(self, message: str, *, source_id: str, url: str, field: str | None = None) -> None:
        super().__init__(message, source_id=source_id, url=url)
        self.field = field


class PaginationError(ConnectorError):
    """Paging failed: a page repeated an earlier one, the page limit was reached or the total changed."""

    def __init__(self, message: str, *, source_id: str, url: str, page_number: int) -> None:
        super().__init__(message, source_id=source_id, url=url)
        self.page_number = page_number


class RecordCountMismatchError(PaginationError):
    """The number of records fetched differs from the total that the source reported."""

    def __init__(
        self, message: str, *, source_id: str, url: str, page_number: int, expected: int, received: int
    ) -> None:
        super().__init__(message, source_id=source_id, url=url, page_number=page_number)
        self.expected = expected
        self.received = received
