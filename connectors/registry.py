"""Load and validate the source registry, ``sources.yaml``.

The registry lists every department system that Huiju harvests: its format, URL, schedule and
owner, plus the limits of its HTTP client. A file looks like this::

    version: 1
    defaults:                       # optional; a source may override each key
      schedule: "0 2 * * *"
      timeout_seconds: 10
      max_retries: 3
      backoff_seconds: 0.5
      max_response_bytes: 20000000
      max_shrink_share: 0.2         # share of records one run may lose before the source is blocked
    allowed_hosts: [gov.example]    # optional; hosts of all base_urls are always allowed
    sources:
      - id: guangan_xzspj
        name: 广安区行政审批局政务服务事项接口
        format: json_api            # json_api | csv_export | xml_export | rss_feed | atom_feed
        base_url: ${HUIJU_DEPT_BASE_URL}/xzspj
        owner_department: 区行政审批局
        contact: 区行政审批局信息化股
        pagination: cursor          # page_number (default) | offset_limit | cursor | next_link
        path: /api/cursor/tasks
        max_concurrent_requests: 2  # optional politeness limits, used by the scheduler
        max_requests_per_second: 5.0
        credentials:                # optional; names only, never the secret itself
          header: Authorization
          env: HUIJU_XZSPJ_TOKEN    # or prefect_secret: xzspj-api-token
        updated_since:              # optional; JSON APIs that list changes since a time
          param: updatedSince
          record_key: task_code
          full_refresh_hours: 168   # a full fetch at least this often, to see withdrawals
      - id: portal_notices
        name: 门户网站通知公告
        format: rss_feed
        base_url: ${HUIJU_DEPT_BASE_URL}/feeds
        path: /notices.rss
        content_kind: notice        # notice | policy_document | policy_interpretation
        owner_department: 门户网站编辑部
        contact: 门户网站编辑部

``${VAR}`` in any string value is replaced by the environment variable ``VAR``. Every error is a
:class:`RegistryError` whose message names the file, the source (by id, or by index when the id
is missing) and the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors.cron import validate_cron

__all__ = [
    "AtomFeedSource",
    "CsvExportSource",
    "JsonApiSource",
    "RssFeedSource",
    "SourceCredentials",
    "UpdatedSinceOptions",
    "XmlExportSource",
    "Registry",
    "RegistryError",
    "RegistryProblem",
    "Source",
    "UnknownSourceError",
    "load_registry",
]

SOURCE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
ENV_VAR_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
HOST_PATTERN = re.compile(r"^[A-Za-z0-9.\-]+$")
# RFC 9110 token characters of a header field name.
HEADER_NAME_PATTERN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Prefect block names are lower-case letters, digits and dashes.
PREFECT_BLOCK_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
XML_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
TOP_LEVEL_KEYS = ("version", "defaults", "allowed_hosts", "sources")

# Values used when neither the source nor the defaults section sets a key.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "schedule": "0 2 * * *",
    "timeout_seconds": 10,
    "max_retries": 3,
    "backoff_seconds": 0.5,
    "max_response_bytes": 20_000_000,
    "max_shrink_share": 0.2,
}


class SourceCredentials(BaseModel):
    """Names of the secret that a source sends in one request header, and of its store.

    The registry stores only names: ``env`` is the name of an environment variable and
    ``prefect_secret`` the name of a Prefect Secret block. Exactly one of the two is set.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str = Field(description="Name of the request header that carries the secret, e.g. Authorization.")
    env: str | None = None
    prefect_secret: str | None = None

    @field_validator("header")
    @classmethod
    def _check_header(cls, value: str) -> str:
        if not HEADER_NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not an HTTP header name")
        return value

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            # The value is left out of the message because it may be the secret itself.
            raise ValueError("is not an environment variable name; write the variable's name, not its value")
        return value

    @field_validator("prefect_secret")
    @classmethod
    def _check_prefect_secret(cls, value: str | None) -> str | None:
        if value is not None and not PREFECT_BLOCK_NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a Prefect block name (lower-case letters, digits and '-')")
        return value

    @model_validator(mode="after")
    def _check_one_secret_store(self) -> SourceCredentials:
        if (self.env is None) == (self.prefect_secret is None):
            raise ValueError("set exactly one of 'env' and 'prefect_secret'")
        return self


class SourceBase(BaseModel):
    """Fields that every source has, whatever its format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    format: str
    base_url: str
    schedule: str
    owner_department: str = Field(min_length=1)
    contact: str = Field(min_length=1)
    timeout_seconds: float = Field(gt=0, description="Connect and read timeout of every request, in seconds.")
    max_retries: int = Field(ge=0, description="Retries after the first attempt of a request.")
    backoff_seconds: float = Field(ge=0, description="Wait before the first retry, doubled for each further retry.")
    max_response_bytes: int = Field(gt=0, description="Maximum body size of one response, in bytes.")
    max_shrink_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Largest share of the last good record count that one run may lose before the source is blocked.",
    )
    max_concurrent_requests: int = Field(default=2, ge=1, description="Maximum requests to the source at one time.")
    max_requests_per_second: float = Field(default=5.0, gt=0, description="Maximum request rate to the source.")
    credentials: SourceCredentials | None = None
    path: str

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{value!r} must start with http:// or https://")
        if not parts.hostname:
            raise ValueError(f"{value!r} has no host")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} must not have a query string or fragment")
        return value.rstrip("/")

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        validate_cron(value)
        return value

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must start with '/'")
        return value

    @property
    def url(self) -> str:
        """Full URL of the resource: ``base_url`` followed by ``path``."""
        return self.base_url + self.path

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""


PaginationStyle = Literal["page_number", "offset_limit", "cursor", "next_link"]
FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UpdatedSinceOptions(BaseModel):
    """Options of a JSON API that lists only the records added or changed since a time.

    The harvest sends the ``Date`` header of the first page of the last committed fetch as
    ``param``, so the cursor follows the server's clock, not Huiju's. Fetched records replace
    the stored records with the same ``record_key``. Removed records are never listed by such
    an API, so a full fetch runs at least every ``full_refresh_hours`` to detect withdrawals.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    param: str = Field(min_length=1, description="Query parameter that carries the time, e.g. updatedSince.")
    record_key: str = Field(description="Record field that identifies a record across fetches, e.g. task_code.")
    time_format: Literal["iso8601", "epoch_seconds", "epoch_millis"] = "iso8601"
    full_refresh_hours: float = Field(default=168, gt=0, description="Maximum time between two full fetches, in hours.")

    @field_validator("record_key")
    @classmethod
    def _check_record_key(cls, value: str) -> str:
        if not FIELD_NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a top-level field name (letters, digits and '_')")
        return value


class JsonApiSource(SourceBase):
    """A paginated JSON API.

    ``pagination`` selects how the next page is requested:

    - ``page_number``: ``page_param`` counts up from ``first_page``, ``size_param`` is the size.
    - ``offset_limit``: ``offset_param`` is the number of records received so far, ``limit_param``
      the size.
    - ``cursor``: the first request sends no cursor, each later one sends the cursor found at
      ``next_cursor_path`` of the previous page as ``cursor_param``, with ``limit_param`` as the
      size. An empty or null cursor ends the fetch.
    - ``next_link``: the first request sends ``size_param``, each later one requests the URL at
      ``next_link_path`` of the previous page, resolved against that page's URL. Null ends.
    """

    # Fields that only some pagination styles read, with those styles.
    STYLE_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "page_param": ("page_number",),
        "first_page": ("page_number",),
        "size_param": ("page_number", "next_link"),
        "offset_param": ("offset_limit",),
        "limit_param": ("offset_limit", "cursor"),
        "cursor_param": ("cursor",),
        "next_cursor_path": ("cursor",),
        "next_link_path": ("next_link",),
    }

    format: Literal["json_api"]
    path: str = "/api/tasks"
    pagination: PaginationStyle = "page_number"
    offset_param: str = Field(default="offset", min_length=1)
    limit_param: str = Field(default="limit", min_length=1)
    cursor_param: str = Field(default="cursor", min_length=1)
    next_cursor_path: str = Field(default="data.nextCursor", min_length=1, description="Dotted path of the next cursor.")
    next_link_path: str = Field(default="links.next", min_length=1, description="Dotted path of the next page's URL.")
    page_param: str = Field(default="pageNo", min_length=1)
    size_param: str = Field(default="pageSize", min_length=1)
    page_size: int = Field(default=100, gt=0)
    first_page: int = Field(default=1, ge=0)
    records_path: str = Field(default="data.records", min_length=1, description="Dotted path of the records list.")
    total_path: str | None = Field(
        default="data.total", description="Dotted path of the total record count; null if the API sends none."
    )
    max_pages: int = Field(default=10_000, gt=0)
    updated_since: UpdatedSinceOptions | None = None

    @field_validator("updated_since", mode="before")
    @classmethod
    def _check_updated_since_mapping(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, Mapping):
            raise ValueError("must be a mapping with the keys param and record_key (optional: time_format, "
                             "full_refresh_hours)")
        return value


class CsvExportSource(SourceBase):
    """A CSV export fetched in one request."""

    format: Literal["csv_export"]
    path: str = "/export/tasks.csv"
    encoding: Literal["auto", "utf-8", "gb18030"] = "auto"


class XmlExportSource(SourceBase):
    """An XML export fetched in one request: a root element with one ``record_element`` per record."""

    format: Literal["xml_export"]
    path: str = "/export/tasks.xml"
    record_element: str = "task"

    @field_validator("record_element")
    @classmethod
    def _check_record_element(cls, value: str) -> str:
        if not XML_NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not an XML element name")
        return value


ContentKind = Literal["notice", "policy_document", "policy_interpretation"]


class RssFeedSource(SourceBase):
    """An RSS 2.0 feed of notices or policy documents, fetched in one request."""

    format: Literal["rss_feed"]
    content_kind: ContentKind


class AtomFeedSource(SourceBase):
    """An Atom feed of notices or policy documents, fetched in one request."""

    format: Literal["atom_feed"]
    content_kind: ContentKind


Source = Annotated[
    JsonApiSource | CsvExportSource | XmlExportSource | RssFeedSource | AtomFeedSource,
    Field(discriminator="format"),
]
FeedSource = RssFeedSource | AtomFeedSource

SOURCE_MODELS: dict[str, type[SourceBase]] = {
    "json_api": JsonApiSource,
    "csv_export": CsvExportSource,
    "xml_export": XmlExportSource,
    "rss_feed": RssFeedSource,
    "atom_feed": AtomFeedSource,
}


@dataclass(frozen=True)
class RegistryProblem:
    """One invalid value in a registry file."""

    message: str
    field: str | None = None
    source_id: str | None = None
    source_index: int | None = None


class RegistryError(ValueError):
    """The registry file is unreadable or invalid.

    The message lists every problem found, one per line. The attributes ``path``, ``source_id``,
    ``source_index`` and ``field`` describe the first problem, and ``problems`` contains them all.
    """

    def __init__(self, path: Path, problems: list[RegistryProblem]) -> None:
        self.path = path
        self.problems = problems
        first = problems[0]
        self.source_id = first.source_id
        self.source_index = first.source_index
        self.field = first.field
        lines = [_format_problem(path, problem) for problem in problems]
        super().__init__("\n".join(lines))


class UnknownSourceError(KeyError):
    """No source in the registry has the requested id."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Registry:
    """A validated registry: its sources in file order and the hosts the HTTP client may contact."""

    path: Path
    sources: tuple[Source, ...]
    allowed_hosts: frozenset[str]
    _by_id: dict[str, Source] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {source.id: source for source in self.sources})

    def get(self, source_id: str) -> Source:
        """Return the source with this id. Raise :class:`UnknownSourceError` if there is none."""
        try:
            return self._by_id[source_id]
        except KeyError:
            raise UnknownSourceError(
                f"no source with id {source_id!r} in {self.path}; known ids: {', '.join(self._by_id)}"
            ) from None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def __iter__(self) -> Iterator[Source]:
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)


def load_registry(path: str | Path, environ: Mapping[str, str] | None = None) -> Registry:
    """Read, interpolate and validate a registry file.

    ``environ`` is the mapping used for ``${VAR}`` values; the default is ``os.environ``.

    Raises:
        RegistryError: the file is missing or invalid. The message lists every problem.
    """
    loader = _RegistryLoader(Path(path), os.environ if environ is None else environ)
    return loader.load()


class _RegistryLoader:
    """Collect every problem of one file, so that one run reports them all."""

    DEFAULT_KEYS: ClassVar[tuple[str, ...]] = tuple(BUILTIN_DEFAULTS)

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.problems: list[RegistryProblem] = []

    def load(self) -> Registry:
        document = self._read_document()
        self._check_top_level(document)
        defaults = self._read_defaults(document.get("defaults"))
        sources = self._read_sources(document.get("sources"), defaults)
        extra_hosts = self._read_allowed_hosts(document.get("allowed_hosts"))

        if self.problems:
            raise RegistryError(self.path, self.problems)

        hosts = {source.host.lower() for source in sources} | extra_hosts
        return Registry(path=self.path, sources=tuple(sources), allowed_hosts=frozenset(hosts))

    # Document and top level

    def _read_document(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as error:
            raise RegistryError(self.path, [RegistryProblem(f"cannot read the file ({error})")]) from error
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise RegistryError(self.path, [RegistryProblem(f"invalid YAML ({error})")]) from error
        if not isinstance(document, dict):
            raise RegistryError(self.path, [RegistryProblem("the file must contain a mapping with 'version' and 'sources'")])
        return document

    def _check_top_level(self, document: Mapping[str, Any]) -> None:
        for key in document:
            if key not in TOP_LEVEL_KEYS:
                self._problem(f"unknown top-level key; expected one of {', '.join(TOP_LEVEL_KEYS)}", field=str(key))
        version = document.get("version")
        if version != 1:
            self._problem(f"unsupported version {version!r}; this loader reads version 1", field="version")

    def _read_defaults(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            return dict(BUILTIN_DEFAULTS)
        if not isinstance(raw, dict):
            self._problem("must be a mapping", field="defaults")
            return dict(BUILTIN_DEFAULTS)

        defaults = dict(BUILTIN_DEFAULTS)
        for key, value in raw.items():
            if key not in self.DEFAULT_KEYS:
                self._problem(f"unknown key; defaults may set {', '.join(self.DEFAULT_KEYS)}", field=f"defaults.{key}")
                continue
            defaults[key] = self._interpolate(value, field=f"defaults.{key}")
        return defaults

    def _read_allowed_hosts(self, raw: Any) -> set[str]:
        if raw is None:
            return set()
        if not isinstance(raw, list):
            self._problem("must be a list of host names", field="allowed_hosts")
            return set()

        hosts: set[str] = set()
        for index, entry in enumerate(raw):
            label = f"allowed_hosts[{index}]"
            value = self._interpolate(entry, field=label)
            if not isinstance(value, str) or not HOST_PATTERN.match(value):
                self._problem(f"{value!r} is not a host name; write it without scheme, port or path", field=label)
                continue
            hosts.add(value.lower().rstrip("."))
        return hosts

    # Sources

    def _read_sources(self, raw: Any, defaults: Mapping[str, Any]) -> list[Source]:
        if not isinstance(raw, list) or not raw:
            self._problem("must be a non-empty list of sources", field="sources")
            return []

        sources: list[Source] = []
        first_index_of_id: dict[str, int] = {}
        for index, entry in enumerate(raw):
            source = self._read_source(index, entry, defaults, first_index_of_id)
            if source is not None:
                sources.append(source)
        return sources

    def _read_source(
        self, index: int, entry: Any, defaults: Mapping[str, Any], first_index_of_id: dict[str, int]
    ) -> Source | None:
        if not isinstance(entry, dict):
            self._problem("must be a mapping of fields", source_index=index)
            return None
        source_id = self._read_source_id(index, entry, first_index_of_id)
        if source_id is None:
            return None

        values = dict(defaults)
        problems_before = len(self.problems)
        for key, value in entry.items():
            values[key] = self._interpolate(value, field=str(key), source_id=source_id, source_index=index)

        source_format = values.get("format")
        model = SOURCE_MODELS.get(source_format) if isinstance(source_format, str) else None
        if model is None:
            message = "missing" if source_format is None else f"unknown format {source_format!r}"
            self._problem(
                f"{message}; expected one of {', '.join(SOURCE_MODELS)}",
                field="format",
                source_id=source_id,
                source_index=index,
            )
            return None
        if model is JsonApiSource:
            self._check_style_fields(entry, values.get("pagination", "page_number"), source_id, index)
        if len(self.problems) > problems_before:
            return None

        try:
            return model.model_validate(values)  # type: ignore[return-value]
        except ValidationError as error:
            for detail in error.errors():
                self._problem(
                    _describe_validation_error(detail),
                    field=".".join(str(part) for part in detail["loc"]) or None,
                    source_id=source_id,
                    source_index=index,
                )
            return None

    def _check_style_fields(self, entry: Mapping[str, Any], style: Any, source_id: str, index: int) -> None:
        """Record a problem for each field that the source's pagination style does not read."""
        if not isinstance(style, str):
            return  # the model reports an invalid pagination value
        for key, styles in JsonApiSource.STYLE_FIELDS.items():
            if key in entry and style not in styles:
                self._problem(
                    f"applies only to pagination {' or '.join(styles)}, but the source uses {style}; remove it",
                    field=key,
                    source_id=source_id,
                    source_index=index,
                )

    def _read_source_id(self, index: int, entry: Mapping[str, Any], first_index_of_id: dict[str, int]) -> str | None:
        """Return the source's id, or ``None`` after recording why it is missing, invalid or a duplicate."""
        source_id = entry.get("id")
        if source_id is None:
            self._problem("missing", field="id", source_index=index)
            return None
        if not isinstance(source_id, str) or not SOURCE_ID_PATTERN.match(source_id):
            self._problem(
                f"invalid id {source_id!r}; use lower-case letters, digits and '_', starting with a letter",
                field="id",
                source_index=index,
            )
            return None
        if source_id in first_index_of_id:
            self._problem(
                f"duplicate id; the source at index {first_index_of_id[source_id]} has the same id",
                field="id",
                source_id=source_id,
                source_index=index,
            )
            return None
        first_index_of_id[source_id] = index
        return source_id

    # Helpers

    def _interpolate(self, value: Any, **where: Any) -> Any:
        """Replace ``${VAR}`` in a string value. Record a problem for every unset variable."""
        if not isinstance(value, str):
            return value

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            resolved = self.environ.get(name)
            if not resolved:
                self._problem(f"environment variable {name} is not set or empty; set it or edit the value", **where)
                return match.group(0)
            return resolved

        return ENV_VAR_PATTERN.sub(replace, value)

    def _problem(
        self,
        message: str,
        *,
        field: str | None = None,
        source_id: str | None = None,
        source_index: int | None = None,
    ) -> None:
        self.problems.append(RegistryProblem(message, field=field, source_id=source_id, source_index=source_index))


def _describe_validation_error(detail: Mapping[str, Any]) -> str:
    error_type = detail["type"]
    if error_type == "missing":
        return "missing"
    if error_type == "extra_forbidden":
        field_name = str(detail["loc"][0]) if detail["loc"] else ""
        formats = [name for name, model in SOURCE_MODELS.items() if field_name in model.model_fields]
        if len(detail["loc"]) == 1 and formats:
            return f"applies only to sources of format {' or '.join(formats)}; remove it or change the format"
        return "unknown field; check its spelling against the registry format"
    message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{message} (got {detail['input']!r})" if error_type != "value_error" else message


def _format_problem(path: Path, problem: RegistryProblem) -> str:
    parts = [str(path)]
    if problem.source_id is not None:
        parts.append(f"source {problem.source_id!r} (index {problem.source_index})")
    elif problem.source_index is not None:
        parts.append(f"source at index {problem.source_index}")
    if problem.field is not None:
        parts.append(f"field {problem.field!r}")
    return ": ".join(parts) + ": " + problem.message
