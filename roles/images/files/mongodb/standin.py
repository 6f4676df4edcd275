# Stand-in for MongoDB: listens on 27017 (encompass) and 27018 (audit) and accepts connections.
import socketserver
import threading


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(1)


socketserver.ThreadingTCPServer.allow_reuse_address = True
servers = [socketserver.ThreadingTCPServer(("", port), Handler) for port in (27017, 27018)]
threading.Thread(target=servers[1].serve_forever, daemon=True).start()
servers[0].serve_forever()
