# Send SIZE bytes over TCP to HOST:PORT, print the bytes the far end counted and the seconds it took.
import socket
import sys
import time

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.time() + 15
while True:  # the sink may still be starting, and the first packet to a new peer can be lost
    try:
        conn = socket.create_connection((host, port), timeout=10)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
chunk = b"x" * 65536
sent = 0
started = time.time()
while sent < size:
    part = chunk[: size - sent]
    conn.sendall(part)
    sent += len(part)
conn.shutdown(socket.SHUT_WR)
received = int(conn.recv(100).decode())
print(received, round(time.time() - started, 3))
