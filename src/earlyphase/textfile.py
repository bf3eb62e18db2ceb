"""Reading a text file a person saved: UTF-8 with or without a byte-order mark, or a named encoding.

Shared by every door that reads text (import files, study files) so that a file saved in another
encoding is refused the same way everywhere: naming the file, the byte offset and line of the first
byte that does not decode, and how to fix it.
"""

from __future__ import annotations

import codecs

from earlyphase.errors import InputError


def known_encoding(name: str) -> str:
    """The codec's canonical name, or an ``InputError`` naming the unknown one."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputError.single("encoding", name, "known-encoding",
                                "unknown text encoding; give one such as utf-8, cp1252 or latin-1") from None


def decode_text(data: bytes, name: str, encoding: str | None = None, *, error: type[InputError] = InputError,
                hint: str | None = None) -> str:
    """``data`` as text (UTF-8, a leading byte-order mark dropped, unless ``encoding`` names another)."""
    if encoding is None or encoding in ("utf-8", "utf-8-sig"):
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        elif encoding is None and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise error.single("file", name, "utf-8",
                               "the file is UTF-16 text; save it as UTF-8" + (f", or {hint} utf-16" if hint else ""),
                               file=name)
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        fix = "save it as UTF-8"
        if hint:
            fix += f", or give the encoding it was saved in with {hint} (cp1252 for Excel on Windows, latin-1, mac-roman)"
        raise error.single("file", name, encoding.replace("_", "-"),
                           f"byte {exc.start} (line {line}) is 0x{data[exc.start]:02x}, which is not {encoding} text; "
                           f"{fix}", file=name) from None
