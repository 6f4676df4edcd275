# Runs on Tomcat's host: the probe (argv[4], probe.py, given argv[5]) inside the Tomcat container, then Tomcat's status page fetched
# from the host at Tomcat's address (argv[2]; Docker's answer when empty) and port (argv[6]), retried up to argv[3] times a second apart
# while Tomcat starts. One JSON object out: the probe's rows, the address, the page's HTTP status (0: no answer) and text,
# the connectivity matrix's rows (what each endpoint's probe and the status page say) and the table printed from them,
# and the probes as the topology report takes them (argv[7]: the inventory host this runs on).
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

container, address, retries, probe, properties, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
host = sys.argv[7]
run = subprocess.run(["docker", "exec", container, "python3", "-c", probe, properties], capture_output=True, text=True,
                     check=False)
if run.returncode != 0:
    sys.exit("the probe inside %s (docker exec) exited %d: %s" % (container, run.returncode, (run.stderr or run.stdout).strip()[-2000:]))
if not address:
    inspect = subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", container], capture_output=True,
                             text=True, check=False)
    address = inspect.stdout.strip()
    if inspect.returncode != 0 or not address:
        sys.exit("%s has no address on docker0 to fetch its status page from (docker inspect: %s)"
                 % (container, (inspect.stderr or inspect.stdout).strip()[-500:] or "no address"))
# Straight to the container's address: no proxy of the host's environment in between.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
status, content = 0, ""
for attempt in range(retries + 1):
    try:
        with opener.open("http://%s:%s/status.jsp" % (address, port), timeout=10) as page:
            status, content = page.status, page.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, content = exc.code, ""
    except (OSError, ValueError) as exc:
        status, content = 0, str(exc)
    if status == 200 or attempt == retries:
        break
    time.sleep(1)
probes = json.loads(run.stdout)


def page_says(name):
    """What the status page says of an endpoint: the last word of its line ("absent" without one)."""
    lines = [line.split() for line in content.splitlines() if line.startswith(name + " ")]
    return lines[0][-1] if lines and lines[0] else "absent"


matrix = [{"endpoint": row["name"], "address": row["endpoint"], "from_tomcat": "reachable" if row["reachable"] else "UNREACHABLE",
           "status_page": page_says(row["name"])} for row in probes]
# The matrix as printed: a header, then a line a row, in one format.
table = ["%-20s %-24s %-12s %s" % columns for columns in [("endpoint", "address", "from Tomcat", "status page")]
         + [(row["endpoint"], row["address"], row["from_tomcat"], row["status_page"]) for row in matrix]]
records = [{"kind": "tcp", "name": row["name"], "answered": row["reachable"], "from": {"host": host, "container": container},
            "to": {"address": row["endpoint"].rpartition(":")[0], "port": row["endpoint"].rpartition(":")[2]}} for row in probes]
records.append({"kind": "http", "name": "status page", "answered": status == 200, "from": {"host": host, "container": None},
                "to": {"address": address, "port": int(port)}})
print(json.dumps({"probes": probes, "address": address, "status": status, "content": content, "matrix": matrix,
                  "table": table, "records": records}))
