# Runs on a host of the segment: from this host's first container (argv[1], JSON {name, host}) to the first container
# of each host after this one (argv[2], JSON [{name, host, address}]), one after another, a TCP transfer of argv[4]
# bytes to port argv[3] (a sink runs there: tcp_sink.py), then the MTU probe: a don't-fragment ping of the interface's
# (argv[5]) MTU - 28 bytes must cross and one of MTU - 27 must not. The hosts run theirs side by side. One JSON list
# out: the pairs' probes, as the topology report takes them. argv[6]: tcp_source.py's code.
import json
import subprocess
import sys


def run(container, *argv):
    return subprocess.run(["docker", "exec", container] + list(argv), capture_output=True, text=True, check=False)


def record(source, target, port, answered, detail):
    """A pair's probe, as the topology report takes it."""
    return {"kind": "transfer", "name": target["name"], "answered": answered,
            "from": {"host": source["host"], "container": source["name"]},
            "to": {"host": target["host"], "container": target["name"], "address": target["address"], "port": str(port)},
            "detail": detail}


def probe(source, target, mtu, port, size, sender):
    transfer = run(source["name"], "python3", "-c", sender, target["address"], str(port), str(size))
    sent = (transfer.stdout.split() or ["0"])[0] if transfer.returncode == 0 else "0"
    fits = run(source["name"], "ping", "-c", "3", "-i", "0.2", "-W", "1", "-M", "do", "-s", str(mtu - 28), target["address"])
    too_big = run(source["name"], "ping", "-c", "1", "-W", "1", "-M", "do", "-s", str(mtu - 27), target["address"])
    return record(source, target, port,
                  transfer.returncode == 0 and sent == str(size) and fits.returncode == 0 and too_big.returncode != 0,
                  "%s of %d bytes over TCP; MTU %d: DF %d %s, %d %s" % (
                      sent, size, mtu, mtu - 28, "crosses" if fits.returncode == 0 else "does NOT cross",
                      mtu - 27, "does not" if too_big.returncode != 0 else "crosses (MTU too large)"))


def main(source, targets, port, size, interface, sender):
    read = run(source["name"], "cat", "/sys/class/net/%s/mtu" % interface)
    if read.returncode != 0 or not read.stdout.strip().isdigit():
        return [record(source, target, port, False, "the MTU of %s in %s could not be read: %s"
                       % (interface, source["name"], read.stderr.strip())) for target in targets]
    return [probe(source, target, int(read.stdout), port, size, sender) for target in targets]


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                          sys.argv[5], sys.argv[6])))
