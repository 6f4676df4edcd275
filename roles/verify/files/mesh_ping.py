# Runs on a host of the segment: from every container of this host (argv[2], JSON [{name}]), ping every container on the
# other hosts (argv[3], JSON [{name, address, host}]), side by side (one `docker exec` a container, its pings in
# parallel, three 0.5 s apart), then once more, a little longer, those that went unanswered: with hundreds of pings at
# once on a busy host the first packets to fresh neighbours can all be lost. One JSON list out: the probes, as the
# topology report takes them (argv[1]: this host's inventory name).
import json
import subprocess
import sys

host, sources, targets = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
PINGS = 'c=$1; shift; for a in "$@"; do (ping -c "$c" -i 0.5 -W 2 "$a" >/dev/null 2>&1 && echo "$a 0" || echo "$a 1") & done; wait'


def ping_all(pending, count):
    """{source name: set of the addresses that answered}, pinging pending[source] from each source at once."""
    running = {source: subprocess.Popen(["docker", "exec", source, "sh", "-c", PINGS, "ping", str(count)] + addresses,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for source, addresses in pending.items() if addresses}
    answered = {}
    for source, proc in running.items():
        out = proc.communicate()[0]
        answered[source] = {line.split()[0] for line in out.splitlines() if line.split()[1:] == ["0"]}
    return answered


wanted = {source["name"]: [target["address"] for target in targets] for source in sources}
answered = ping_all(wanted, 3)
retry = {source: [a for a in addresses if a not in answered.get(source, set())] for source, addresses in wanted.items()}
for source, more in ping_all(retry, 5).items():
    answered.setdefault(source, set()).update(more)
print(json.dumps([{"kind": "ping", "name": target["name"], "answered": target["address"] in answered.get(source["name"], set()),
                   "from": {"host": host, "container": source["name"]},
                   "to": {"address": target["address"], "host": target["host"], "container": target["name"]}}
                  for source in sources for target in targets]))
