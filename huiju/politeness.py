"""Per-host limits on parallel requests and request rate, shared by every source of a harvest.

Sources fetched in parallel may live on one host. Each request of a source takes a slot of its
host's semaphore and waits for the host's rate limiter, so the host receives at most
``max_concurrent_requests`` requests at once and at most ``max_requests_per_second`` per second.
Where sources on one host set different limits, the strictest applies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MAX_CONCURRENT_REQUESTS = 2
DEFAULT_MAX_REQUESTS_PER_SECOND = 5.0


@dataclass(frozen=True)
class HostLimits:
    max_concurrent_requests: int
    max_requests_per_second: float


class _RateLimiter:
    """Spaces request starts at least ``1 / rate`` seconds apart, across threads."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_start = 0.0

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
        if start > now:
            self._sleep(start - now)


class HostLimiter:
    """Holds one semaphore and one rate limiter per host."""

    def __init__(
        self,
        limits: Mapping[str, HostLimits],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limits = dict(limits)
        self._semaphores = {host: threading.BoundedSemaphore(limit.max_concurrent_requests) for host, limit in limits.items()}
        self._rates = {host: _RateLimiter(limit.max_requests_per_second, clock, sleep) for host, limit in limits.items()}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}

    @classmethod
    def for_sources(cls, sources: Iterable[Any]) -> HostLimiter:
        """Build the limits of every host from the sources on it, taking the strictest values."""
        limits: dict[str, HostLimits] = {}
        for source in sources:
            host = (urlsplit(source.base_url).hostname or "").lower()
            concurrent = getattr(source, "max_concurrent_requests", DEFAULT_MAX_CONCURRENT_REQUESTS)
            rate = getattr(source, "max_requests_per_second", DEFAULT_MAX_REQUESTS_PER_SECOND)
            if host in limits:
                concurrent = min(concurrent, limits[host].max_concurrent_requests)
                rate = min(rate, limits[host].max_requests_per_second)
            limits[host] = HostLimits(concurrent, rate)
        return cls(limits)

    def acquire(self, host: str) -> None:
        self._semaphores[host].acquire()
        with self._lock:
            self._in_flight[host] = self._in_flight.get(host, 0) + 1
            self.max_in_flight[host] = max(self.max_in_flight.get(host, 0), self._in_flight[host])
        self._rates[host].wait()

    def release(self, host: str) -> None:
        with self._lock:
            self._in_flight[host] -= 1
        self._semaphores[host].release()


class PoliteClient:
    """Wraps an ``HttpClient`` for one source: host limits on every request, and its credentials.

    Credential headers are added here, so they never appear in the registry, the landing
    metadata (which stores response headers only) or the connectors' error messages.
    """

    def __init__(
        self,
        client: Any,
        limiter: HostLimiter,
        credential_headers: Mapping[str, str] | None = None,
        request_overrides: Mapping[str, Any] | None = None,
    ):
        self.client = client
        self.limiter = limiter
        self._credential_headers = dict(credential_headers or {})
        self._request_overrides = dict(request_overrides or {})

    def get(self, url: str, **options: Any) -> Any:
        """GET through the wrapped client; ``request_overrides`` replace the connector's options."""
        options.update(self._request_overrides)
        host = (urlsplit(url).hostname or "").lower()
        if self._credential_headers:
            options["headers"] = {**(options.get("headers") or {}), **self._credential_headers}
        if host not in self.limiter.limits:
            # The client rejects hosts outside the allow-list, which every registry host is in.
            return self.client.get(url, **options)
        self.limiter.acquire(host)
        try:
            return self.client.get(url, **options)
        finally:
            self.limiter.release(host)

    def close(self) -> None:
        self.client.close()
