"""Connectors that fetch department systems: one shared HTTP client, decoding, the source
registry, and one connector per protocol (paginated JSON API, CSV export, XML export, RSS and
Atom feeds). The XML export's ``fetch_export`` is :func:`connectors.xml_export.fetch_export`;
the name ``fetch_export`` here is the CSV connector's."""

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
from connectors.feeds import fetch_feed, parse_feed_entries
from connectors.fetching import FetchedPage, FetchedPageSummary, PageValidators
from connectors.http import HttpClient, HttpResponse
from connectors.json_api import fetch_pages
from connectors.registry import (
    AtomFeedSource,
    CsvExportSource,
    JsonApiSource,
    Registry,
    RegistryError,
    RssFeedSource,
    Source,
    SourceCredentials,
    UnknownSourceError,
    XmlExportSource,
    load_registry,
)
from connectors.xml_export import parse_xml_records

__all__ = [
    "AtomFeedSource",
    "ConnectorError",
    "CsvExportSource",
    "DecodeError",
    "DecodedText",
    "FetchError",
    "FetchTimeoutError",
    "FetchedPage",
    "FetchedPageSummary",
    "HostNotAllowedError",
    "HttpClient",
    "HttpResponse",
    "HttpStatusError",
    "JsonApiSource",
    "PageValidators",
    "PaginationError",
    "RecordCountMismatchError",
    "Registry",
    "RegistryError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "RssFeedSource",
    "Source",
    "SourceCredentials",
    "TooManyRedirectsError",
    "UnknownSourceError",
    "XmlExportSource",
    "decode_body",
    "fetch_export",
    "fetch_feed",
    "fetch_pages",
    "load_registry",
    "parse_export",
    "parse_feed_entries",
    "parse_xml_records",
]
