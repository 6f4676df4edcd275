# Stand-in for Elasticsearch: GET / on 9200 answers like Elasticsearch does; 9300 accepts connections.
import json
import os
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLUSTER = os.environ.get("CLUSTER_NAME", "encsearchdb")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = json.dumps({
            "name": socket.gethostname(),
            "cluster_name": CLUSTER,
            "tagline": "You Know, for Search (encompass.netlab stand-in)",
            "version": {"number": "stand-in"},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Transport(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(1)


socketserver.ThreadingTCPServer.allow_reuse_address = True
threading.Thread(target=socketserver.ThreadingTCPServer(("", 9300), Transport).serve_forever, daemon=True).start()
ThreadingHTTPServer(("", 9200), Handler).serve_forever()
