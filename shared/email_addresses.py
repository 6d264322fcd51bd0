"""Email addresses people type: what is refused, and the key that tells one mailbox apart.

A client's address is kept as typed (that is where mail goes); limits that count per client
(the daily booking cap, one seat per group session) compare `mailbox_key`, so `Ana+1@`,
`"ana"@` and `ANA@` are the same client.
"""

from __future__ import annotations

import unicodedata

# Unicode categories no address holds: control (C0, C1, CR/LF), format (zero-width spaces and
# joiners, bidi controls, soft hyphen), line and paragraph separators, unassigned, private use.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"}

INVISIBLE_CHARACTERS = "Remove the invisible or control characters from the address."
IP_LITERAL = "Give an address at a domain name, not at an IP address."
NON_ASCII_LOCAL_PART = (
    "Our mail server cannot deliver to an address with accents or non-Latin letters before "
    "the @; please give another address."
)


def email_problem(address: str, *, smtputf8: bool) -> str | None:
    """Why an address (already of the form local@domain) is refused, or None.

    Without `smtputf8` (the relay's SMTPUTF8 extension) a non-ASCII local part cannot be put
    in an RFC 5322 To: header, so it is refused here rather than failing at delivery.
    """
    if any(unicodedata.category(char) in _INVISIBLE for char in address):
        return INVISIBLE_CHARACTERS
    local, _, domain = address.rpartition("@")
    if domain.startswith("["):
        return IP_LITERAL
    if not smtputf8 and not local.isascii():
        return NON_ASCII_LOCAL_PART
    return None


def _unquote(local: str) -> str:
    """The local part without RFC 5321 quoting: "ana" is ana, "a\\"b" is a"b."""
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        inner, out, escaped = local[1:-1], [], False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return local


def mailbox_key(address: str) -> str:
    """One key per mailbox: unquoted, without a +tag, NFKC-normalized and case-folded.

    Case-folding happens here, in Python: SQLite's lower() folds ASCII only (É and é differ).
    """
    local, _, domain = address.strip().rpartition("@")
    local = _unquote(local).split("+", 1)[0]
    folded = unicodedata.normalize("NFKC", f"{local}@{domain}").casefold()
    return unicodedata.normalize("NFKC", folded)
