"""A minimal DNS client for one question: the NS records of a name (RFC 1035 over UDP).

Used only behind `forecast --public-dns`, when the parent zone is not in the account:
the resolvers of /etc/resolv.conf are asked what the world sees as the zone's name
servers. The standard library has no NS lookup, and one query does not justify a
dependency.
"""

from __future__ import annotations

import random
import socket
import struct
from pathlib import Path

NS, IN = 2, 1


class DnsError(Exception):
    """No usable answer: timeout, truncation, a server failure."""


def system_resolvers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[tuple[str, int]]:
    try:
        lines = resolv_conf.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [(parts[1], 53) for parts in (line.split() for line in lines)
            if len(parts) >= 2 and parts[0] == "nameserver"]


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at ``offset``; returns it and the offset after it."""
    labels: list[str] = []
    end = None
    for _ in range(128):  # bounded: a pointer loop must not hang us
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = struct.unpack("!H", data[offset:offset + 2])[0] & 0x3FFF
            continue
        if length == 0:
            return ".".join(labels) + ".", end if end is not None else offset + 1
        labels.append(data[offset + 1:offset + 1 + length].decode("ascii").lower())
        offset += 1 + length
    raise DnsError("malformed name in answer")


def build_query(name: str, qid: int) -> bytes:
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", NS, IN)


def parse_ns_answer(data: bytes, qid: int) -> list[str]:
    """NS targets in the answer section; [] for NXDOMAIN or no NS records."""
    if len(data) < 12:
        raise DnsError("short answer")
    rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", data[:12])
    if rid != qid:
        raise DnsError("answer to another question")
    if flags & 0x0200:
        raise DnsError("truncated answer")
    rcode = flags & 0x000F
    if rcode == 3:
        return []
    if rcode != 0:
        raise DnsError(f"server answered rcode {rcode}")
    offset = 12
    for _ in range(qd):
        _, offset = read_name(data, offset)
        offset += 4
    servers = []
    for _ in range(an):
        _, offset = read_name(data, offset)
        rtype, _, _, length = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == NS:
            servers.append(read_name(data, offset)[0])
        offset += length
    return servers


def query_ns(name: str, server: tuple[str, int], timeout: float = 2.0) -> list[str]:
    qid = random.randrange(1 << 16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(build_query(name, qid), server)
            data, _ = sock.recvfrom(4096)
        except OSError as exc:
            raise DnsError(f"{server[0]}:{server[1]}: {exc}") from None
    return parse_ns_answer(data, qid)
