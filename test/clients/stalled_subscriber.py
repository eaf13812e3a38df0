"""An MQTT subscriber that stops reading: connects over TLS with keepalive 0, subscribes, waits for SUBACK,
prints "subscribed" and then never reads again until killed. Its receive buffer is made small (which also turns
off the kernel's receive-buffer autotuning), so what it does not read piles up in the sender, not in the kernel.

usage: stalled_subscriber.py PORT CAFILE USERNAME PASSWORD TOPIC
"""

import socket
import ssl
import sys
import time


def field(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def packet(kind: int, body: bytes) -> bytes:
    length, remaining = bytearray(), len(body)
    while True:
        digit, remaining = remaining % 128, remaining // 128
        length.append(digit | (0x80 if remaining else 0))
        if not remaining:
            return bytes([kind]) + bytes(length) + body


def read_packet(conn: ssl.SSLSocket) -> int:
    head = conn.recv(1)
    multiplier, remaining = 1, 0
    while True:
        digit = conn.recv(1)[0]
        remaining += (digit & 0x7F) * multiplier
        multiplier *= 128
        if not digit & 0x80:
            break
    while remaining:
        remaining -= len(conn.recv(remaining))
    return head[0] >> 4


def main() -> None:
    port, cafile, username, password, topic = sys.argv[1:6]
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", int(port)))
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    conn = context.wrap_socket(raw)
    connect = field(b"MQTT") + bytes([4, 0xC2]) + (0).to_bytes(2, "big")
    connect += field(b"stalled-subscriber") + field(username.encode()) + field(password.encode())
    conn.sendall(packet(0x10, connect))
    if read_packet(conn) != 2:
        sys.exit("no CONNACK")
    conn.sendall(packet(0x82, (1).to_bytes(2, "big") + field(topic.encode()) + bytes([0])))
    # Moat may send the cached full state before the SUBACK: skip PUBLISHes until it.
    while read_packet(conn) != 9:
        pass
    print("subscribed", flush=True)
    while True:
        time.sleep(3600)


main()
