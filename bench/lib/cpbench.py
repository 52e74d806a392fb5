#!/usr/bin/env python3
"""berth's control-plane and terraform benchmarks, against moto_server, in one run.

    cpbench.py control-plane [--smoke] ...   startup to ready, idle RSS, DescribeClusters latency
    cpbench.py apply [--smoke] ...           terraform init/apply/destroy of examples/two-services,
                                             RSS with the stack applied

Run through bench/control-plane.sh and bench/apply.sh (they check the tools); see bench/README.md.
Everything listens on 127.0.0.1; every process started here is stopped by PID; every loop is
bounded in time.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SEED = os.path.join(REPO, "examples", "two-services")
CLUSTER = "bench"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, path, timeout=1.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except OSError:
        return None
    finally:
        conn.close()


def proc_status(pid):
    """VmRSS, VmHWM (kB) and thread count of one process."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
                elif k == "Threads":
                    out[k] = int(v)
    except OSError:
        pass
    return out


def children(pid):
    """Every descendant PID of pid."""
    found = []
    kids = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:  # a child belongs to the thread that forked it (berth forks tasks on its own thread)
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    for k in kids:
        found.append(k)
        found.extend(children(k))
    return found


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def tree_rss_kb(pid):
    return sum(proc_status(p).get("VmRSS", 0) for p in [pid] + children(pid))


class Server:
    """A berth or moto_server process on 127.0.0.1:<port>, started fresh."""

    def __init__(self, kind, berth_bin, logdir, tag, stack=None):
        self.kind, self.berth_bin, self.logdir, self.tag, self.stack = kind, berth_bin, logdir, tag, stack
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.data = None
        self.ready_s = None

    @property
    def health_path(self):
        return "/_berth/health" if self.kind == "berth" else "/moto-api/"

    def command(self):
        if self.kind == "berth":
            self.data = tempfile.mkdtemp(prefix="berth-cpbench.")
            stack = [self.stack] if self.stack else []
            return [self.berth_bin, "up", *stack, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data,
                    "--listener-ports", "ephemeral"]
        moto = shutil.which("moto_server")
        # pyenv's shim is a shell script that execs the real entry point: time the real one.
        if moto and shutil.which("pyenv"):
            real = subprocess.run(["pyenv", "which", "moto_server"], capture_output=True, text=True)
            if real.returncode == 0 and real.stdout.strip():
                moto = real.stdout.strip()
        if not moto:
            raise SystemExit("moto_server not found (pip install 'moto[server]')")
        return [moto, "-H", "127.0.0.1", "-p", str(self.port)]

    def start(self, timeout=60.0):
        env = dict(os.environ)
        env.setdefault("BERTH_LOG", "warn")
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        cmd = self.command()
        out = open(os.path.join(self.logdir, f"{self.tag}.log"), "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.data or tempfile.gettempdir())
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if http_status(self.port, self.health_path, timeout=0.5) == 200:
                self.ready_s = time.perf_counter() - t0
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}, see {out.name}")
            time.sleep(0.002)
        self.stop()
        raise RuntimeError(f"{self.kind} not ready after {timeout} s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for p in children(self.proc.pid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.kill()
                self.proc.wait()
        if self.data:
            shutil.rmtree(self.data, ignore_errors=True)
            self.data = None


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def boto(service, endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


def signed_describe_clusters(endpoint):
    """Headers and body of a SigV4-signed ECS DescribeClusters, for wrk to replay."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = json.dumps({"clusters": [CLUSTER]})
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters",
    })
    SigV4Auth(Credentials("test", "test"), "ecs", "us-east-1").add_auth(req)
    return dict(req.headers.items()), body


def wrk_lua(path, headers, body):
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    for k, v in headers.items():
        if k.lower() in ("host", "content-length"):
            continue
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_wrk(text):
    def us(v):
        m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
        if not m:
            return float("nan")
        x, u = float(m.group(1)), m.group(2)
        return x * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[u]
    out = {"rps": float("nan"), "p50_us": float("nan"), "p99_us": float("nan"), "requests": 0, "errors": 0}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("50%"):
            out["p50_us"] = us(line.split()[1])
        elif line.startswith("99%"):
            out["p99_us"] = us(line.split()[1])
        elif line.startswith("Requests/sec:"):
            out["rps"] = float(line.split()[1])
        elif " requests in " in line:
            out["requests"] = int(line.split()[0])
        elif line.startswith("Socket errors:"):
            out["errors"] += sum(int(x) for x in re.findall(r"\d+", line))
        elif line.startswith("Non-2xx"):
            out["errors"] += int(line.split()[-1])
    return out


def fmt_ms(s):
    return f"{s * 1000:.1f}"


# ------------------------------------------------------------------------------ control plane
def control_plane(args):
    os.makedirs(args.out, exist_ok=True)
    kinds = ["berth", "moto"]
    rows = {k: [] for k in kinds}
    log(f"startup: {args.runs} runs each, interleaved; RSS read {args.idle_wait} s after ready")
    for i in range(args.runs):
        for kind in kinds:
            srv = Server(kind, args.berth, args.out, f"{kind}-start-{i}")
            try:
                srv.start()
                time.sleep(args.idle_wait)
                st = proc_status(srv.proc.pid)
                rows[kind].append({"ready_s": srv.ready_s, "rss_kb": st.get("VmRSS"), "hwm_kb": st.get("VmHWM"),
                                   "threads": st.get("Threads")})
                log(f"  {kind} run {i}: ready {fmt_ms(srv.ready_s)} ms, VmRSS {st.get('VmRSS')} kB")
            finally:
                srv.stop()

    log(f"DescribeClusters closed loop: {args.reps} x {args.seconds} s per server and client, interleaved")
    servers = {k: Server(k, args.berth, args.out, f"{k}-api").start() for k in kinds}
    lat = {k: {"boto3": [], "wrk": []} for k in kinds}
    try:
        luas = {}
        for kind, srv in servers.items():
            ecs = boto("ecs", srv.endpoint)
            ecs.create_cluster(clusterName=CLUSTER)
            got = ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
            assert got and got[0]["clusterName"] == CLUSTER, f"{kind}: DescribeClusters answered {got}"
            headers, body = signed_describe_clusters(srv.endpoint)
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read().decode(errors="replace")
            conn.close()
            if resp.status != 200 or f'"clusterName":"{CLUSTER}"' not in answer.replace(" ", ""):
                raise RuntimeError(f"{kind}: the replayed DescribeClusters answered {resp.status}: {answer[:300]}")
            luas[kind] = os.path.join(args.out, f"describe-clusters-{kind}.lua")
            wrk_lua(luas[kind], headers, body)
        for rep in range(args.reps):
            for kind, srv in servers.items():
                ecs = boto("ecs", srv.endpoint)
                ecs.describe_clusters(clusters=[CLUSTER])  # connection + first-call warm-up
                times = []
                end = time.perf_counter() + args.seconds
                while True:
                    t0 = time.perf_counter()
                    if t0 >= end:
                        break
                    r = ecs.describe_clusters(clusters=[CLUSTER])
                    times.append(time.perf_counter() - t0)
                    if not r["clusters"]:
                        raise RuntimeError(f"{kind}: DescribeClusters lost the cluster")
                b = {"calls": len(times), "rps": len(times) / args.seconds, "p50_us": pct(times, 50) * 1e6,
                     "p99_us": pct(times, 99) * 1e6}
                lat[kind]["boto3"].append(b)
                res = subprocess.run(["timeout", str(args.seconds + 30), "wrk", "-t1", "-c1", f"-d{args.seconds}s",
                                      "--latency", "-s", luas[kind], srv.endpoint + "/"],
                                     capture_output=True, text=True)
                w = parse_wrk(res.stdout)
                lat[kind]["wrk"].append(w)
                log(f"  rep {rep} {kind}: boto3 {b['rps']:.0f} calls/s p50 {b['p50_us']:.0f} us p99 "
                    f"{b['p99_us']:.0f} us | wrk c1 {w['rps']:.0f} req/s p50 {w['p50_us']:.0f} us p99 "
                    f"{w['p99_us']:.0f} us errors {w['errors']}")
        rss_after = {k: proc_status(s.proc.pid).get("VmRSS") for k, s in servers.items()}
    finally:
        for s in servers.values():
            s.stop()

    stack = None if args.smoke or args.no_stack else stack_up(args)
    res = {"startup": rows, "latency": lat, "rss_after_loop_kb": rss_after, "stack": stack, "env": env_info(args)}
    with open(os.path.join(args.out, "control-plane.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = control_plane_md(res, args)
    with open(os.path.join(args.out, "control-plane.md"), "w") as f:
        f.write(md)
    print(md)
    problems = [f"{k} wrk errors" for k in kinds for w in lat[k]["wrk"] if w["errors"] or not w["requests"]]
    if stack is not None and not stack.get("running"):
        problems.append(f"berth up <stack> did not get the stack running: {stack}")
    problems += [f"{k} boto3 made no call" for k in kinds for b in lat[k]["boto3"] if not b["calls"]]
    if problems:
        log("FAILED: " + ", ".join(problems))
        return 1
    return 0


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def control_plane_md(res, args):
    s, lat = res["startup"], res["latency"]
    b, m = s["berth"], s["moto"]
    def r(a, c):
        return f"{a / c:.2f}" if c else "-"
    lines = ["# control-plane results", "", "```", res["env"], "```", "",
             f"Startup: {args.runs} runs each, interleaved; median (min-max). Idle RSS read {args.idle_wait} s after ready.",
             "", "| metric | berth | moto_server | berth / moto |", "|---|---:|---:|---:|"]
    for key, name, f in (("ready_s", "exec to health 200 (ms)", lambda x: x * 1000),
                         ("rss_kb", "idle VmRSS (MiB)", lambda x: x / 1024),
                         ("hwm_kb", "VmHWM (MiB)", lambda x: x / 1024),
                         ("threads", "threads", lambda x: x)):
        bv = [f(x[key]) for x in b if x.get(key) is not None]
        mv = [f(x[key]) for x in m if x.get(key) is not None]
        if not bv or not mv:
            continue
        lines.append(f"| {name} | {med(bv):.1f} ({min(bv):.1f}-{max(bv):.1f}) | {med(mv):.1f} "
                     f"({min(mv):.1f}-{max(mv):.1f}) | {r(med(bv), med(mv))} |")
    lines += ["", f"DescribeClusters, closed loop, one client: {args.reps} x {args.seconds} s per server and "
                  "client, interleaved; median over the reps.", "",
              "| client | server | calls/s | p50 us | p99 us | errors | calls/s berth / moto | p50 berth / moto |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for client in ("boto3", "wrk"):
        agg = {k: {f: med([x[f] for x in lat[k][client]]) for f in ("rps", "p50_us", "p99_us")} for k in lat}
        for k in ("berth", "moto"):
            errs = sum(x.get("errors", 0) for x in lat[k][client])
            extra = (f"{r(agg['berth']['rps'], agg['moto']['rps'])} | {r(agg['berth']['p50_us'], agg['moto']['p50_us'])}"
                     if k == "berth" else " | ")
            name = "boto3 (one Python process)" if client == "boto3" else "wrk -t1 -c1 (signed request replayed)"
            lines.append(f"| {name} | {k} | {agg[k]['rps']:.0f} | {agg[k]['p50_us']:.0f} | {agg[k]['p99_us']:.0f} | "
                         f"{errs} | {extra} |")
    ra = res["rss_after_loop_kb"]
    lines += ["", f"VmRSS after the loops: berth {ra.get('berth', 0) / 1024:.1f} MiB, "
                  f"moto_server {ra.get('moto', 0) / 1024:.1f} MiB.", ""]
    st = res.get("stack")
    if st:
        lines += ["`berth up <copy of examples/two-services>` (berth applies the stack "
                  "with terraform itself):", "",
                  "| metric | value |", "|---|---:|",
                  f"| exec to health 200 | {st['ready_s'] * 1000:.0f} ms |",
                  f"| exec to stack running (4 tasks running, 4 targets healthy) | {st['running_s']:.1f} s |",
                  f"| exec to berth's terraform apply exited | {st.get('terraform_done_s', float('nan')):.1f} s |",
                  f"| berth VmRSS, stack running | {st['rss_kb'] / 1024:.1f} MiB |",
                  f"| berth VmHWM | {st['hwm_kb'] / 1024:.1f} MiB |",
                  f"| berth + its {st['tasks']} child processes ({', '.join(st.get('children', []))}), VmRSS "
                  f"| {st['tree_kb'] / 1024:.1f} MiB |",
                  f"| berth threads | {st['threads']} |", ""]
    return "\n".join(lines)


def stack_up(args):
    """`berth up <copy of the seed>`: time to a running stack, RSS with its 4 tasks running."""
    log("stack: berth up <copy of examples/two-services>, until 4 tasks run and 4 targets are healthy")
    work = tempfile.mkdtemp(prefix="cpbench-stack.")
    cfg = os.path.join(work, "two-services")
    copy_seed(cfg, None)
    srv = Server("berth", args.berth, args.out, "berth-stack", stack=cfg)
    out = {"running": False}
    try:
        t0 = time.perf_counter()
        srv.start(timeout=120)
        out["ready_s"] = srv.ready_s
        ok, state = wait_stack_running(srv.endpoint, 300, quiet=True)
        out["running_s"] = time.perf_counter() - t0
        out["running"], out["state"] = ok, state
        # berth's terraform may still be finishing (outputs); measure once it has exited.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(comm(p) == "terraform" for p in children(srv.proc.pid)):
            time.sleep(0.5)
        out["terraform_done_s"] = time.perf_counter() - t0
        time.sleep(2)
        st = proc_status(srv.proc.pid)
        kids = children(srv.proc.pid)
        names = [comm(p) for p in kids]
        out.update(rss_kb=st.get("VmRSS"), hwm_kb=st.get("VmHWM"), threads=st.get("Threads"),
                   tree_kb=tree_rss_kb(srv.proc.pid), tasks=len(kids), children=sorted(names))
        log(f"  stack running={ok} after {out['running_s']:.1f} s; berth VmRSS {out['rss_kb']} kB, "
            f"with {out['tasks']} child processes {out['tree_kb']} kB")
    except Exception as e:  # noqa: BLE001 - reported in the results and the exit code
        out["error"] = str(e)
        log(f"  stack: {e}")
    finally:
        kids = children(srv.proc.pid) if srv.proc else []
        srv.stop()
        for p in kids:  # tasks berth did not stop (it should)
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)
    return out


def env_info(args):
    def v(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - a missing tool is reported, not fatal
            return "?"
    try:
        import moto
        mv = moto.__version__
    except Exception:  # noqa: BLE001
        mv = "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = os.environ.get("BERTH_COMMIT") or v(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    return "\n".join([
        f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"nproc: {os.cpu_count()}  cpu: {cpu}  kernel: {os.uname().release}",
        f"loadavg at start: {open('/proc/loadavg').read().split()[0:3]}",
        f"berth: {v([args.berth, '--version'])} (commit {commit}, {args.berth})",
        f"moto: {mv}  terraform: {v(['terraform', 'version'])}  wrk: {v(['wrk', '-v'])}",
        f"settings: {' '.join(sys.argv[1:])}",
    ])


# ------------------------------------------------------------------------------ apply
def tf_env(endpoint, workdir):
    env = dict(os.environ)
    mirror = os.environ.get("BERTH_TF_PLUGIN_MIRROR") or ("/opt/tf-plugins" if os.path.isdir("/opt/tf-plugins") else None)
    rc = os.path.join(workdir, ".terraformrc")
    with open(rc, "w") as f:
        if mirror:
            f.write('provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n'
                    '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n'
                    '    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' % mirror)
    env.update({
        "TF_CLI_CONFIG_FILE": rc, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0",
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    })
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        env.pop(k, None)
    return env


def copy_seed(dst, files):
    os.makedirs(dst)
    for name in os.listdir(SEED):
        src = os.path.join(SEED, name)
        if os.path.isdir(src):
            if name == "modules" and files is None:
                shutil.copytree(src, os.path.join(dst, name))
        elif name.endswith(".tf") and (files is None or name in files):
            shutil.copy(src, dst)


TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")


def api_calls(log_path):
    """(time, 'req'|'resp', method, tf_req_id, resource type, status) per logged HTTP message."""
    out = []
    entry = []

    def flush():
        if not entry:
            return
        text = " ".join(entry)
        if "HTTP Request Sent" in text or "HTTP Response Received" in text:
            t = datetime.strptime(TS.match(entry[0]).group(1)[:26], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            f = lambda k: (re.search(rf" {re.escape(k)}=(\S+)", text) or [None, None])[1]  # noqa: E731
            out.append((t, "req" if "HTTP Request Sent" in text else "resp", f("rpc.method"), f("tf_req_id"),
                        f("tf_resource_type"), f("http.status_code")))
    try:
        with open(log_path, errors="replace") as fh:
            for line in fh:
                if TS.match(line):
                    flush()
                    entry = [line]
                elif entry:
                    entry.append(line)
        flush()
    except OSError:
        pass
    return out


def provider_waits(log_path, min_gap=4.0):
    """The provider's own sleeps: gaps of >= min_gap s in one resource operation's API calls
    (between a response and that operation's next request; the server answered in ms). A gap after
    an error answer is a retry back-off (e.g. CreateService until the target group has a listener
    rule, as on AWS), after a success a fixed wait (the ALB waiter's 30 s delays)."""
    calls = api_calls(log_path)
    by = {}
    for c in calls:
        if c[3]:
            by.setdefault(c[3], []).append(c)
    waits = []
    for ops in by.values():
        ops.sort()
        for a, b in zip(ops, ops[1:]):
            if a[1] == "resp" and b[1] == "req" and b[0] - a[0] >= min_gap:
                kind = "retry" if (a[5] or "200").isdigit() and int(a[5] or 200) >= 400 else "wait"
                waits.append((a[0], b[0], a[4], a[2], b[2] if kind == "wait" else f"{b[2]} (retry after {a[5]})"))
    waits.sort()
    union, cur = 0.0, None
    for s, e, *_ in waits:
        if cur and s <= cur[1]:
            cur[1] = max(cur[1], e)
        else:
            if cur:
                union += cur[1] - cur[0]
            cur = [s, e]
    if cur:
        union += cur[1] - cur[0]
    return waits, union, len(calls) // 2


def run_tf(args_list, cwd, env, logfile, tf_log=None, timeout=900):
    e = dict(env)
    if tf_log:
        e["TF_LOG"] = "DEBUG"
        e["TF_LOG_PATH"] = tf_log
    t0 = time.perf_counter()
    with open(logfile, "w") as out:
        p = subprocess.run(["terraform"] + args_list, cwd=cwd, env=e, stdout=out, stderr=subprocess.STDOUT,
                           timeout=timeout)
    dt = time.perf_counter() - t0
    text = open(logfile).read()
    if p.returncode != 0:
        raise RuntimeError(f"terraform {' '.join(args_list)} failed ({p.returncode}), see {logfile}:\n{text[-2000:]}")
    return dt, text


def wait_stack_running(endpoint, timeout, quiet=False):
    """Until both services run 2 tasks and all 4 targets are healthy (berth; moto runs nothing)."""
    ecs, elb = boto("ecs", endpoint), boto("elbv2", endpoint)
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        try:
            svcs = ecs.describe_services(cluster="ecs-cluster", services=["product-svc", "user-svc"])["services"]
        except Exception:  # noqa: BLE001 - the stack is still being applied (no cluster yet)
            if not quiet:
                raise
            time.sleep(1)
            continue
        running = sum(s.get("runningCount", 0) for s in svcs)
        healthy = 0
        for tg in elb.describe_target_groups()["TargetGroups"]:
            healthy += sum(1 for d in elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
                           ["TargetHealthDescriptions"] if d["TargetHealth"]["State"] == "healthy")
        state = (running, healthy)
        if running >= 4 and healthy >= 4:
            return True, state
        time.sleep(1)
    return False, state


def timed_run(row, verb, done_word, cfg, env, out, tag):
    """`terraform <verb>` with TF_LOG: into `row`, <verb>_s, the resources it reports <done_word>,
    and the provider's own waits (<verb>_waits_s, _calls, _wait_list)."""
    tflog = os.path.join(out, f"{tag}-{verb}.tflog")
    row[f"{verb}_s"], text = run_tf([verb, "-auto-approve", "-input=false", "-no-color"], cfg, env,
                                    os.path.join(out, f"{tag}-{verb}.out"), tflog)
    m = re.search(rf"Resources: (\d+) {done_word}", text)
    row[done_word] = int(m.group(1)) if m else None
    waits, union, calls = provider_waits(tflog)
    row.update({f"{verb}_waits_s": union, f"{verb}_calls": calls,
                f"{verb}_wait_list": [(round(e - s, 1), r, a, b) for s, e, r, a, b in waits]})


def apply(args):
    os.makedirs(args.out, exist_ok=True)
    files = ["main.tf", "variables.tf", "iam.tf"] if args.smoke else None
    rows = []
    for rep in range(args.reps):
        for kind in ("berth", "moto"):
            tag = f"{kind}-{rep}"
            srv = Server(kind, args.berth, args.out, f"{tag}-server").start()
            work = tempfile.mkdtemp(prefix=f"cpbench-tf-{kind}.")
            try:
                cfg = os.path.join(work, "cfg")
                copy_seed(cfg, files)
                env = tf_env(srv.endpoint, work)
                row = {"server": kind, "rep": rep}
                row["init_s"], _ = run_tf(["init", "-input=false", "-no-color"], cfg, env,
                                          os.path.join(args.out, f"{tag}-init.out"))
                timed_run(row, "apply", "added", cfg, env, args.out, tag)
                if not args.smoke:
                    if kind == "berth":
                        ok, state = wait_stack_running(srv.endpoint, 120)
                        row["stack_running"] = ok
                        row["stack_state"] = state
                    row["rss_server_kb"] = proc_status(srv.proc.pid).get("VmRSS")
                    row["rss_tree_kb"] = tree_rss_kb(srv.proc.pid)
                    row["tasks"] = len(children(srv.proc.pid))
                timed_run(row, "destroy", "destroyed", cfg, env, args.out, tag)
                rows.append(row)
                log(f"{tag}: init {row['init_s']:.1f} s, apply {row['apply_s']:.1f} s (waits {row['apply_waits_s']:.1f}),"
                    f" destroy {row['destroy_s']:.1f} s (waits {row['destroy_waits_s']:.1f}),"
                    f" {row['added']} added / {row['destroyed']} destroyed")
            finally:
                srv.stop()
                shutil.rmtree(work, ignore_errors=True)
    res = {"rows": rows, "env": env_info(args)}
    with open(os.path.join(args.out, "apply.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = apply_md(res, args)
    with open(os.path.join(args.out, "apply.md"), "w") as f:
        f.write(md)
    print(md)
    bad = [r for r in rows if not r.get("added") or r.get("added") != r.get("destroyed")]
    bad += [r for r in rows if r["server"] == "berth" and r.get("stack_running") is False]
    if bad:
        log(f"FAILED: {[(r['server'], r['rep'], r.get('added'), r.get('destroyed'), r.get('stack_state')) for r in bad]}")
        return 1
    return 0


def apply_md(res, args):
    rows = res["rows"]
    lines = ["# apply results", "", "```", res["env"], "```", "",
             ("SMOKE: only main.tf, variables.tf and iam.tf (2 resources)." if args.smoke else
              "examples/two-services, fresh server and fresh copy per run; berth and moto interleaved."),
             "'waits' = the provider's own sleeps, measured in TF_LOG: gaps of 4 s or more between a response and the "
             "next request of the same resource operation (the servers answer in ms), as a union over the run.", "",
             "| server | rep | init s | apply s | apply waits s | apply - waits s | API calls | destroy s | "
             "destroy waits s | destroy - waits s | resources | RSS server MiB | RSS with tasks MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        rss = f"{r['rss_server_kb'] / 1024:.1f}" if r.get("rss_server_kb") else "-"
        tree = f"{r['rss_tree_kb'] / 1024:.1f} ({r.get('tasks', 0)} procs)" if r.get("rss_tree_kb") else "-"
        lines.append(f"| {r['server']} | {r['rep']} | {r['init_s']:.1f} | {r['apply_s']:.1f} | {r['apply_waits_s']:.1f} | "
                     f"{r['apply_s'] - r['apply_waits_s']:.1f} | {r['apply_calls'] + r['destroy_calls']} | "
                     f"{r['destroy_s']:.1f} | {r['destroy_waits_s']:.1f} | {r['destroy_s'] - r['destroy_waits_s']:.1f} | "
                     f"{r.get('added')}/{r.get('destroyed')} | {rss} | {tree} |")
    def m(server, f):
        return med([f(r) for r in rows if r["server"] == server])
    lines += ["", "| median | berth | moto | berth / moto |", "|---|---:|---:|---:|"]
    for name, f in (("apply s", lambda r: r["apply_s"]), ("apply - waits s", lambda r: r["apply_s"] - r["apply_waits_s"]),
                    ("destroy s", lambda r: r["destroy_s"]),
                    ("destroy - waits s", lambda r: r["destroy_s"] - r["destroy_waits_s"]),
                    ("apply + destroy - waits s", lambda r: r["apply_s"] + r["destroy_s"] - r["apply_waits_s"] - r["destroy_waits_s"])):
        b, mo = m("berth", f), m("moto", f)
        lines.append(f"| {name} | {b:.1f} | {mo:.1f} | {b / mo:.2f} |" if mo else f"| {name} | {b:.1f} | {mo:.1f} | - |")
    lines += ["", "Provider waits seen (seconds, resource, call before -> call after):", ""]
    for r in rows:
        w = "; ".join(f"{d} s {t} {a}->{b}" for d, t, a, b in r.get("apply_wait_list", []) + r.get("destroy_wait_list", []))
        lines.append(f"- {r['server']} rep {r['rep']}: {w or 'none'}")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("control-plane", "apply"):
        p = sub.add_parser(name)
        p.add_argument("--berth", default=os.path.join(REPO, "target", "release", "berth"))
        p.add_argument("--out", required=True)
        p.add_argument("--smoke", action="store_true")
        p.add_argument("--reps", type=int, default=None)
        if name == "control-plane":
            p.add_argument("--runs", type=int, default=None, help="startup runs per server")
            p.add_argument("--seconds", type=float, default=None, help="seconds per latency loop")
            p.add_argument("--idle-wait", type=float, default=None, help="seconds after ready before RSS")
            p.add_argument("--no-stack", action="store_true", help="skip berth up <seed stack>")
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)  # terraform runs elsewhere: TF_LOG_PATH must be absolute
    args.berth = os.path.abspath(args.berth)
    if args.cmd == "control-plane":
        args.runs = args.runs or (2 if args.smoke else 10)
        args.reps = args.reps or (1 if args.smoke else 3)
        args.seconds = args.seconds or (1 if args.smoke else 10)
        args.idle_wait = args.idle_wait if args.idle_wait is not None else (1 if args.smoke else 5)
        return control_plane(args)
    args.reps = args.reps or 1
    return apply(args)


if __name__ == "__main__":
    sys.exit(main())
