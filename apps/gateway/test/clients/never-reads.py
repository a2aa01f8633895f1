"""A WebSocket client that does not read its acks, for the gateway's slow-reader tests.

Its receive buffer is fixed small (SO_RCVBUF, which also turns off the kernel's receive
autotuning), which Node's sockets cannot do. It sends messages of `events` events, one every
`interval` seconds (at most `max_count`), never reading, until the test that started it writes a
command on its stdin. With `events` 0, each message is one small event (`{"seq": n, "event": {...}}`);
with `interval` 0, messages go out back to back.

Commands:

  read   stop sending, read everything the gateway sent until it closes the connection, and
         print {"sent", "acks", "close"} (close: the close code found, null if none)
  reset  vanish: drop the connection with a TCP reset and print {"sent"}

The test decides when from the gateway's own metrics, so nothing here depends on how much the
kernel buffers or on how fast this machine is.
"""
import base64, json, os, socket, struct, sys, threading, time

host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
events, interval, max_count = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])

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
    print(json.dumps({"error": head.split(b"\r\n")[0].decode()}), flush=True)
    os._exit(1)


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
lock = threading.Lock()


def read_all_and_report() -> None:
    """Reads until the gateway closes the connection; reports the acks and the close code."""
    data = b""
    # The gateway drops the connection a fixed time after its close frame (uWS's close timeout):
    # read with a large window, not through the 4 KB one that kept us slow so far.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(60)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    close_code, acks, i = None, 0, 0
    while i + 2 <= len(data):
        opcode = data[i] & 0x0F
        n = data[i + 1] & 0x7F
        j = i + 2
        if n == 126:
            n = int.from_bytes(data[j:j + 2], "big"); j += 2
        elif n == 127:
            n = int.from_bytes(data[j:j + 8], "big"); j += 8
        if j + n > len(data):
            break  # a frame cut short: the connection was dropped mid-frame
        if opcode == 0x1 and data[j:j + 7] == b'{"ack":':
            acks += 1
        if opcode == 0x8:
            close_code = int.from_bytes(data[j:j + 2], "big") if n >= 2 else None
            break
        i = j + n
    with lock:
        print(json.dumps({"sent": sent, "acks": acks, "close": close_code, "bytes_read": len(data)}), flush=True)
    os._exit(0)


def commands() -> None:
    for line in sys.stdin:
        command = line.strip()
        if command == "read":
            read_all_and_report()
        elif command == "reset":
            # Linger 0: close() sends a TCP reset, and the kernel discards what is still unsent.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with lock:
                print(json.dumps({"sent": sent}), flush=True)
            s.close()
            os._exit(0)
    os._exit(0)  # the test went away


threading.Thread(target=commands, daemon=True).start()
try:
    for seq in range(max_count):
        if events == 0:
            body = json.dumps({"seq": seq, "event": {"type": "ws-slow"}}).encode()
        else:
            ids = [f"never-reads-{os.getpid()}-{seq}-{i}-".ljust(120, "x") for i in range(events)]
            body = json.dumps({"seq": seq, "events": [{"type": "ws-slow", "id": i} for i in ids]}).encode()
        s.sendall(frame(body))
        with lock:
            sent += 1
        if interval > 0:
            time.sleep(interval)
except OSError:
    pass  # the gateway closed the connection while we were still sending
# Done sending: wait for the test's command.
threading.Event().wait()
