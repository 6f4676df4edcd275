# Count the bytes of one TCP connection and send the count back (the far end of verify's transfer).
# Gives up after 60 seconds without a connection.
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(1)
server.settimeout(60)
conn, peer = server.accept()
conn.settimeout(60)
total = 0
while True:
    data = conn.recv(65536)
    if not data:
        break
    total += len(data)
conn.sendall(str(total).encode())
conn.close()
