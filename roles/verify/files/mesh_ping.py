# Runs on a host of the segment: from every container of this host (argv[2], JSON [{name}]), ping every container on the
# other hosts (argv[3], JSON [{name, address, host}]), all side by side (one `docker exec` a container, its pings in
# parallel: three tries 0.2 s apart, as the first packet to a fresh neighbour can be lost). One JSON list out: the
# probes, as the topology report takes them (argv[1]: this host's inventory name).
import json
import subprocess
import sys

host, sources, targets = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
PINGS = 'for a in "$@"; do (ping -c 3 -i 0.2 -W 1 "$a" >/dev/null 2>&1 && echo "$a 0" || echo "$a 1") & done; wait'
running = [(source, subprocess.Popen(["docker", "exec", source["name"], "sh", "-c", PINGS, "ping"]
                                     + [target["address"] for target in targets],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
           for source in sources]
probes = []
for source, proc in running:
    out, err = proc.communicate()
    answered = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    for target in targets:
        probes.append({"kind": "ping", "name": target["name"], "answered": answered.get(target["address"]) == "0",
                       "from": {"host": host, "container": source["name"]},
                       "to": {"address": target["address"], "host": target["host"], "container": target["name"]}})
print(json.dumps(probes))
