# Runs inside the Tomcat container: read Tomcat's own setenv.sh, connect to every endpoint it names. argv[1]: the
# properties to look for (JSON, name -> the port an endpoint without one means; stack_services).
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
    host, dummy_sep, port = match.group(1).rpartition(":") if ":" in match.group(1) else (match.group(1), "", str(default_port))
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
