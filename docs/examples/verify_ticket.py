#!/usr/bin/env python3
"""Verifies a boxoffice ticket code offline, as a door scanner without a network would.

    pip install cryptography
    curl -s https://tickets.example.org/api/v1/checkin/keys > keys.json   # while online
    python3 verify_ticket.py keys.json CODE

KEYS is the answer of GET /api/v1/checkin/keys, saved while online (its "keys" list).
Prints the ticket as JSON and exits 0 when the code is genuine; exits 1 when it is
malformed, signed with an unknown key or changed. Whether the ticket was voided or
already used only the server knows: upload offline scans to
POST /api/v1/events/{id}/check-ins/batch when back online.
"""

import base64
import hashlib
import json
import sys
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNED = 55  # version 1 + key id 4 + event 16 + booking 16 + ticket type 16 + number 2


def unpadded(decode, text, block):
    return decode(text + "=" * (-len(text) % block))


def ticket_id(booking: bytes, number: int) -> uuid.UUID:
    """The ticket's id: SHA-256 of a label, the booking id and the number, as a v8 UUID."""
    digest = bytearray(
        hashlib.sha256(b"boxoffice ticket\0" + booking + number.to_bytes(2, "big")).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562 variant
    return uuid.UUID(bytes=bytes(digest))


def verify(code: str, keys: list) -> dict:
    """The ticket a genuine code admits; ValueError for any other code."""
    try:
        raw = unpadded(base64.b32decode, code.strip().upper(), 8)
    except ValueError as error:
        raise ValueError("not base32") from error
    if len(raw) != SIGNED + 64 or raw[0] != 1:
        raise ValueError("not a version 1 ticket code")
    signed, signature = raw[:SIGNED], raw[SIGNED:]
    key_id = signed[1:5].hex()
    key = next((k for k in keys if k["key_id"] == key_id), None)
    if key is None:
        raise ValueError(f"signed with unknown key {key_id}")
    public = Ed25519PublicKey.from_public_bytes(unpadded(base64.urlsafe_b64decode, key["public_key"], 4))
    try:
        public.verify(signature, signed)
    except InvalidSignature as error:
        raise ValueError("the signature does not match: changed or forged") from error
    number = int.from_bytes(signed[53:55], "big")
    return {
        "ticket_id": str(ticket_id(signed[21:37], number)),
        "event_id": str(uuid.UUID(bytes=signed[5:21])),
        "booking_id": str(uuid.UUID(bytes=signed[21:37])),
        "ticket_type_id": str(uuid.UUID(bytes=signed[37:53])),
        "number": number,
        "key_id": key_id,
    }


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as file:
        keys = json.load(file)
    keys = keys["keys"] if isinstance(keys, dict) else keys
    try:
        print(json.dumps(verify(sys.argv[2], keys)))
    except ValueError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
