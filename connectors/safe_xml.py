"""Parse XML from untrusted servers with defusedxml, rejecting DTDs and entities.

The parser runs with ``forbid_dtd``, ``forbid_entities`` and ``forbid_external`` set, so a
body with a document type declaration, an entity declaration or an external reference raises
before anything is expanded or fetched. This blocks entity-expansion bombs ("billion laughs")
and external entities (XXE).
"""

from __future__ import annotations

import codecs
import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from connectors.errors import ResponseFormatError

__all__ = ["local_name", "parse_xml", "xml_encoding"]

XML_DECLARATION_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
# Markup that the parser rejects, to find the line of a rejected declaration.
FORBIDDEN_MARKUP = re.compile(rb"<!DOCTYPE|<!ENTITY|SYSTEM\s|PUBLIC\s")


def parse_xml(body: bytes, *, source_id: str, url: str) -> Element:
    """Parse ``body`` into its root element, honouring the encoding in the XML declaration.

    Raises:
        ResponseFormatError: the body is not well-formed XML, or it has a DTD, an entity
            declaration or an external reference. The message names the source, the URL and,
            where the parser or a scan of the body can tell, the line.
    """
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as error:
        line, column = error.position
        raise ResponseFormatError(
            f"Source {source_id}: body of {url} is not well-formed XML at line {line}, column {column} ({error})",
            source_id=source_id,
            url=url,
        ) from error
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden, DefusedXmlException) as error:
        raise ResponseFormatError(
            f"Source {source_id}: body of {url} contains {_describe_forbidden(error)}{_line_of_forbidden(body)}, "
            "which is rejected because DTDs and entities can expand without limit or read other resources; "
            "ask the publisher for XML without a DOCTYPE",
            source_id=source_id,
            url=url,
        ) from error


def xml_encoding(body: bytes) -> str:
    """Return the codec name of the encoding in the XML declaration, or ``utf-8``, the XML default."""
    match = XML_DECLARATION_ENCODING.match(body.removeprefix(codecs.BOM_UTF8))
    if match is None:
        return "utf-8"
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return match.group(1).decode("ascii").lower()


def local_name(tag: str) -> str:
    """Return a tag without its ``{namespace}`` prefix."""
    return tag.rpartition("}")[2]


def _describe_forbidden(error: Exception) -> str:
    if isinstance(error, DTDForbidden):
        return "a document type declaration (DTD)"
    if isinstance(error, EntitiesForbidden):
        return "an entity declaration"
    if isinstance(error, ExternalReferenceForbidden):
        return "an external reference"
    return f"forbidden markup ({error})"


def _line_of_forbidden(body: bytes) -> str:
    match = FORBIDDEN_MARKUP.search(body)
    if match is None:
        return ""
    line = body.count(b"\n", 0, match.start()) + 1
    return f" at line {line}"
