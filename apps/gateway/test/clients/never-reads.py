"""A WebSocket client that never reads its acks, for the gateway's slow-reader test.

Its receive buffer is fixed small (SO_RCVBUF, which also turns off the kernel's receive
autotuning): how much a non-reading client can absorb is then bounded and the same on every
machine, which Node's sockets cannot promise. It sends `count` messages of `events` events (one
every `interval` seconds), keeps silent for `wait` seconds, then reads everything the gateway sent
and prints, as JSON, how many messages it sent and the close code it found (null if none).
"""
import base64, json, os, socket, sys, time

host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count, events, interval, wait = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
ws_key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /v1/stream HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {ws_key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {key}\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
if b" 101 " not in head.split(b"\r\n")[0]:
    print(json.dumps({"error": head.split(b"\r\n")[0].decode()}))
    sys.exit(1)

def frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    header = bytearray([0x81])
    if n < 126:
        header.append(0x80 | n)
    elif n < 65536:
        header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    key_stream = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key_stream, "big")).to_bytes(n, "big")
    return bytes(header) + mask + masked

sent = 0
s.settimeout(5)
try:
    for seq in range(count):
        ids = [f"never-reads-{seq}-{i}-".ljust(120, "x") for i in range(events)]
        body = json.dumps({"seq": seq, "events": [{"type": "ws-slow", "id": i} for i in ids]}).encode()
        s.sendall(frame(body))
        sent += 1
        time.sleep(interval)
except OSError:
    pass  # the gateway closed the connection while we were still sending
time.sleep(wait)

# Now read everything and look for the close frame.
s.settimeout(10)
data = b""
try:
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
close_code = None
i = 0
while i + 2 <= len(data):
    opcode = data[i] & 0x0F
    n = data[i + 1] & 0x7F
    j = i + 2
    if n == 126:
        n = int.from_bytes(data[j:j + 2], "big"); j += 2
    elif n == 127:
        n = int.from_bytes(data[j:j + 8], "big"); j += 8
    if opcode == 0x8 and n >= 2:
        close_code = int.from_bytes(data[j:j + 2], "big")
        break
    i = j + n
print(json.dumps({"sent": sent, "close": close_code, "bytes_read": len(data)}))
