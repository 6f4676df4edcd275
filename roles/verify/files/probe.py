# Runs inside the Tomcat container: read Tomcat's own setenv.sh, connect to every endpoint it names (each of a comma
# list: a service's replicas). argv[1]: the properties to look for (JSON, name -> the port an endpoint without one means; stack_services).
import json
import re
import socket
import sys

DEFAULTS = json.loads(sys.argv[1])
with open("/var/lib/tomcat10/bin/setenv.sh", encoding="utf-8") as handle:
    text = handle.read()
rows = []
for name, default_port in DEFAULTS.items():
    match = re.search(r"-D%s=([^\s\"]+)" % re.escape(name), text)
    if not match:
        rows.append({"name": name, "endpoint": "(missing)", "reachable": False})
        continue
    for endpoint in match.group(1).split(","):  # a service's replicas, comma-separated
        host, dummy_sep, port = endpoint.rpartition(":") if ":" in endpoint else (endpoint, "", str(default_port))
        reachable = False
        for dummy in range(3):  # the first packet to a fresh neighbour can be lost
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
                reachable = True
                break
            except OSError:
                continue
        rows.append({"name": name, "endpoint": "%s:%s" % (host, port), "reachable": reachable})
print(json.dumps(rows))
