# Count the bytes of each TCP connection and send each its count back (the far end of verify's transfers): as many
# connections as argv[2] says (default 1), side by side, each host before this one in the mesh sending one.
# Gives up after 60 seconds without a connection.
import socket
import sys
import threading


def count(conn):
    conn.settimeout(60)
    total = 0
    while True:
        data = conn.recv(65536)
        if not data:
            break
        total += len(data)
    conn.sendall(str(total).encode())
    conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(16)
server.settimeout(60)
workers = []
for dummy in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
    conn, peer = server.accept()
    workers.append(threading.Thread(target=count, args=(conn,)))
    workers[-1].start()
for worker in workers:
    worker.join()
