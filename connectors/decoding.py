"""Decode response bodies of Chinese department systems into text.

The order of encodings tried is:

1. the encoding configured for the source, if it is not ``auto``;
2. else the charset declared in the Content-Type header, if Python has a codec for it;
3. else UTF-8 (a leading byte order mark is removed), then GB18030.

Decoding is strict: a body is never decoded with replacement characters. GB2312 and GBK labels
are decoded as GB18030, which is a superset of both, because servers often declare GB2312
while sending characters that only GBK or GB18030 contain.
"""

from __future__ import annotations

import codecs
import logging
from email.message import Message
from typing import NamedTuple

from connectors.errors import DecodeError

__all__ = ["DecodeError", "DecodedText", "charset_from_content_type", "decode_body"]

logger = logging.getLogger(__name__)

AUTO = "auto"
FALLBACK_ENCODINGS = ("utf-8", "gb18030")
# Python codec names of the encodings that GB18030 extends. "x-gbk" is the WHATWG label for GBK.
GB18030_SUPERSET_OF = frozenset({"gb2312", "gbk"})
EXTRA_LABELS = {"x-gbk": "gbk"}


class DecodedText(NamedTuple):
    """Text of a body and the codec name it was decoded with, e.g. ``utf-8`` or ``gb18030``."""

    text: str
    encoding: str


def charset_from_content_type(content_type: str | None) -> str | None:
    """Return the ``charset`` parameter of a Content-Type value, or ``None`` if there is none."""
    if not content_type:
        return None
    message = Message()
    message["Content-Type"] = content_type
    charset = message.get_param("charset")
    if not isinstance(charset, str) or not charset.strip():
        return None
    return charset.strip().strip('"').strip()


def decode_body(
    body: bytes,
    *,
    content_type: str | None,
    source_id: str,
    url: str,
    encoding: str = AUTO,
) -> DecodedText:
    """Decode ``body`` with the configured, the declared or a detected encoding.

    ``encoding`` is the source's setting: ``auto`` or a codec name such as ``utf-8`` or
    ``gb18030``. A configured or declared encoding is the only one tried, so a body that does
    not match it raises instead of being decoded by guesswork.

    Raises:
        DecodeError: the body is invalid in every encoding tried. The message names the source,
            the URL, each encoding and the byte offset where it failed.
    """
    if encoding != AUTO:
        return _decode_with(body, _codec_name(encoding), source_id=source_id, url=url, reason="configured")

    declared = charset_from_content_type(content_type)
    if declared is not None:
        try:
            codec = _codec_name(declared)
        except LookupError:
            logger.warning(
                "Source %s: unknown charset %r declared by %s; detecting the encoding instead", source_id, declared, url
            )
        else:
            return _decode_with(body, codec, source_id=source_id, url=url, reason="declared")

    attempts: list[tuple[str, int]] = []
    for candidate in FALLBACK_ENCODINGS:
        try:
            return DecodedText(_strict_decode(body, candidate), candidate)
        except UnicodeDecodeError as error:
            attempts.append((candidate, error.start))

    tried = ", ".join(f"{name} (invalid byte at offset {offset})" for name, offset in attempts)
    raise DecodeError(
        f"Source {source_id}: body of {url} is not valid text in any encoding tried: {tried}",
        source_id=source_id,
        url=url,
        attempts=tuple(attempts),
    )


def _decode_with(body: bytes, codec: str, *, source_id: str, url: str, reason: str) -> DecodedText:
    try:
        return DecodedText(_strict_decode(body, codec), codec)
    except UnicodeDecodeError as error:
        raise DecodeError(
            f"Source {source_id}: body of {url} is not valid {codec} ({reason} encoding): "
            f"invalid byte at offset {error.start}",
            source_id=source_id,
            url=url,
            attempts=((codec, error.start),),
        ) from error


def _strict_decode(body: bytes, codec: str) -> str:
    if codec == "utf-8":
        # utf-8-sig removes one leading byte order mark and otherwise decodes as UTF-8.
        return body.decode("utf-8-sig")
    text = body.decode(codec)
    # GB18030 can encode U+FEFF as a byte order mark too.
    return text.removeprefix("\ufeff")


def _codec_name(label: str) -> str:
    """Return Python's canonical codec name for an encoding label. Raise LookupError if unknown."""
    info = codecs.lookup(EXTRA_LABELS.get(label.lower(), label))
    if not getattr(info, "_is_text_encoding", True):
        # Codecs such as rot13 or base64 transform str or bytes but do not decode text.
        raise LookupError(f"{label} is not a text encoding")
    name = info.name
    if name in GB18030_SUPERSET_OF:
        return "gb18030"
    return name
