"""The flood itself (see run.sh): python3 flood.py BASE_URL SERVER_PID N CONCURRENCY."""
import collections, concurrent.futures as cf, json, statistics, sys, threading, time, urllib.error, urllib.request

base, pid, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
nproc = len(open("/proc/cpuinfo").read().split("processor")) - 1


def mib(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} for {pid}")


def login(_):
    body = json.dumps({"email": "bench@example.org", "password": "not the password"}).encode()
    req = urllib.request.Request(base + "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:  # a dropped connection counts, by its kind
        return type(e).__name__


health, done = [], threading.Event()


def probe():
    while not done.is_set():
        t = time.monotonic()
        try:
            urllib.request.urlopen(base + "/healthz", timeout=30).read()
            health.append((time.monotonic() - t) * 1000)
        except Exception:
            health.append(float("inf"))
        time.sleep(0.05)


before = mib("VmRSS")
prober = threading.Thread(target=probe)
prober.start()
t0 = time.monotonic()
with cf.ThreadPoolExecutor(c) as pool:
    statuses = collections.Counter(pool.map(login, range(n)))
elapsed = time.monotonic() - t0
done.set()
prober.join()
time.sleep(1)
peak, after = mib("VmHWM"), mib("VmRSS")
# Measured, not derived: glibc keeps up to ~8 freed 19 MiB Argon2 blocks (about 150 MiB)
# after the first sign-ins, then stays flat whatever the flood (docs/architecture.md).
bound = before + 256
print(f"{n} sign-ins, {c} at a time, {nproc} cores, {elapsed:.1f} s")
print("answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)))
print(f"RSS before {before:.0f} MiB, peak {peak:.0f} MiB, after {after:.0f} MiB "
      f"(bound: before + 256 MiB = {bound:.0f} MiB)")
print(f"/healthz during the flood: median {statistics.median(health):.1f} ms, "
      f"max {max(health):.1f} ms over {len(health)} probes")
if peak > bound:
    raise SystemExit(f"peak RSS {peak:.0f} MiB exceeds the bound {bound:.0f} MiB")
