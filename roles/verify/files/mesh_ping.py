# Runs on a host of the segment: from the containers of this host (argv[2], JSON [{name}]), ping the containers on the
# other hosts (argv[3], JSON [{name, address, host}]): every one of them (argv[4] "pairs"), or (argv[4] "hosts") as many
# as it takes for every container here to reach every other host and every container there to be reached from here:
# for each other host, max(here, there) pings, sources and targets taken in turn. A few at a time (one `docker exec` a
# container, four of its pings in flight, four containers at once: hundreds of pings at once on a busy userspace
# datapath lost half of them), three 0.5 s apart, then once more, a little longer, those that went unanswered. One
# JSON list out: the probes, as the topology report takes them (argv[1]: this host's inventory name).
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

PINGS = ('c=$1; shift; printf "%s\\n" "$@" | xargs -P 4 -I @ sh -c '
         '"ping -c $c -i 0.5 -W 2 @ >/dev/null 2>&1 && echo \\"@ 0\\" || echo \\"@ 1\\""')


def ping(source, addresses, count):
    """The addresses of `addresses` that answered `source`."""
    if not addresses:
        return set()
    out = subprocess.run(["docker", "exec", source, "sh", "-c", PINGS, "ping", str(count)] + addresses,
                         capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.split()[1:] == ["0"]}


def ping_all(pending, count):
    """{source: the addresses that answered}, four sources at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = {source: pool.submit(ping, source, addresses, count) for source, addresses in pending.items()}
        return {source: future.result() for source, future in done.items()}


def chosen(sources, targets, mode):
    """[(source, target)]: the pings to make."""
    if mode == "pairs":
        return [(source, target) for source in sources for target in targets]
    pairs = []
    for there in sorted({target["host"] for target in targets}):
        on_it = [target for target in targets if target["host"] == there]
        pairs += [(sources[i % len(sources)], on_it[i % len(on_it)]) for i in range(max(len(sources), len(on_it)))]
    return pairs


def main(host, sources, targets, mode):
    pairs = chosen(sources, targets, mode)
    wanted = {}
    for source, target in pairs:
        wanted.setdefault(source["name"], []).append(target["address"])
    answered = ping_all(wanted, 3)
    retry = {source: [a for a in addresses if a not in answered[source]] for source, addresses in wanted.items()}
    for source, more in ping_all(retry, 5).items():
        answered[source] |= more
    return [{"kind": "ping", "name": target["name"], "answered": target["address"] in answered[source["name"]],
             "from": {"host": host, "container": source["name"]},
             "to": {"address": target["address"], "host": target["host"], "container": target["name"]}}
            for source, target in pairs]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]),
                          sys.argv[4] if len(sys.argv) > 4 else "pairs")))
