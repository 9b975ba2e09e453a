"""Connectors that fetch department systems: one shared HTTP client, decoding, the source
registry, and one connector per protocol (paginated JSON API, CSV export)."""

from connectors.csv_export import fetch_export, parse_export
from connectors.decoding import DecodedText, decode_body
from connectors.errors import (
    ConnectorError,
    DecodeError,
    FetchError,
    FetchTimeoutError,
    HostNotAllowedError,
    HttpStatusError,
    PaginationError,
    RecordCountMismatchError,
    ResponseFormatError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from connectors.fetching import FetchedPage
from connectors.http import HttpClient, HttpResponse
from connectors.json_api import fetch_pages
from connectors.registry import (
    CsvExportSource,
    JsonApiSource,
    Registry,
    RegistryError,
    Source,
    UnknownSourceError,
    load_registry,
)

__all__ = [
    "ConnectorError",
    "CsvExportSource",
    "DecodeError",
    "DecodedText",
    "FetchError",
    "FetchTimeoutError",
    "FetchedPage",
    "HostNotAllowedError",
    "HttpClient",
    "HttpResponse",
    "HttpStatusError",
    "JsonApiSource",
    "PaginationError",
    "RecordCountMismatchError",
    "Registry",
    "RegistryError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "Source",
    "TooManyRedirectsError",
    "UnknownSourceError",
    "decode_body",
    "fetch_export",
    "fetch_pages",
    "load_registry",
    "parse_export",
]
