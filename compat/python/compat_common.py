"""Shared harness for the Python client scenarios (scenarios_*.py).

Each scenario runs in its own forked process with a hard timeout, so a hung or crashed
client cannot stop the scenarios after it. The parent prints exactly one line per
scenario on stdout:

    RESULT|python|<client>|<client version>|<scenario>|PASS|<note>

and exits non-zero if a scenario on the allowlist (compat/python/allow) did not pass.
Everything else (progress, client debug logs of failed scenarios) goes to stderr.

Usage of a scenario script: scenarios_x.py HOST:PORT [scenario ...]
Environment: PY_COMPAT_LOG_DIR (keep client logs there; default a temp dir),
PY_COMPAT_DEBUG=1 (also turn on librdkafka's protocol debug log; the Python clients
always log at DEBUG into the per-scenario log file).
"""
import logging
import multiprocessing
import os
import socket
import struct
import sys
import tempfile
import time
import traceback

SUITE = "python"
HERE = os.path.dirname(os.path.abspath(__file__))
N_KEYED = 500
N_CODEC = 200
# Second read of the compression scenarios starts here, inside a compressed batch: the broker
# returns the whole batch and the client must drop the records before this offset.
MID_BATCH = 137
CODECS = ("gzip", "snappy", "lz4", "zstd")
N_IDEMPOTENT = 500
# transactions-commit-abort: four transactions of N_TXN records each, record i of each to
# partition i % 2 of a 2-partition topic: A committed, B aborted, C committed, D left open (a
# read_committed consumer must stop at the last stable offset before it), then committed.
N_TXN = 10
TXN_PLAN = (("A", "COMMIT"), ("B", "ABORT"), ("C", "COMMIT"), ("D", "COMMIT"))
# transactions-eos-pipeline: N_EOS input records over 3 partitions, consumed by a read_committed
# group member and produced to an output topic in transactions of up to EOS_BATCH records each,
# with the consumed offsets sent to the transaction. The EOS_ABORT_AT-th transaction is aborted
# once and its inputs are reprocessed from the committed offsets.
N_EOS = 1000
EOS_BATCH = 100
EOS_ABORT_AT = 3


def clean(text):
    """One-line note without '|' (the RESULT field separator)."""
    return " ".join(str(text).replace("|", "/").split())[:400]


def load_allow():
    allowed = set()
    try:
        with open(os.path.join(HERE, "allow")) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    allowed.add(line)
    except OSError:
        pass
    return allowed


class ScenarioError(Exception):
    """A check failed; the message is the RESULT note."""


def check(cond, msg):
    if not cond:
        raise ScenarioError(msg)


class Ctx:
    """What a scenario function gets: the bootstrap address, unique names and progress notes."""

    def __init__(self, bootstrap, client, scenario, conn, log_path):
        self.bootstrap = bootstrap
        self.host, port = bootstrap.rsplit(":", 1)
        self.port = int(port)
        self.client = client
        self.scenario = scenario
        self.log_path = log_path
        self.debug = os.environ.get("PY_COMPAT_DEBUG") == "1"
        self._conn = conn
        self.log = logging.getLogger("compat")

    def name(self, what="t"):
        """A topic or group name no other run or suite uses."""
        short = self.client.replace("-", "")[:6]
        return "py-%s-%s-%s-%d-%d" % (short, self.scenario, what, os.getpid(), time.time_ns() % 10**12)

    def step(self, text):
        """Record what the scenario is doing, so that a timeout says where it hung."""
        self.log.info("STEP %s", text)
        try:
            self._conn.send(("step", text))
        except (OSError, ValueError):
            pass


# --- expected data for the produce/consume scenarios ---------------------------------

def keyed_record(i, client):
    """(key, value, headers) of record i. Every 100th value is null (a tombstone); the repeated
    header key and the arbitrary bytes check that header order and bytes survive."""
    key = ("key-%d" % (i % 17)).encode()
    value = None if i % 100 == 99 else ("value %d from %s " % (i, client)).encode() + b"x" * (i % 50)
    headers = [
        ("idx", str(i).encode()),
        ("client", client.encode()),
        ("bin", bytes([0, 255, i % 256, 10, 124])),
        ("dup", b"first"),
        ("dup", b"second"),
    ]
    return key, value, headers


def codec_record(i, codec):
    """(key, value) of record i for the compression scenarios: compressible values."""
    return ("k%d" % i).encode(), ("%s record %05d " % (codec, i)).encode() * 20


def verify_keyed(sent, got, n, client):
    """sent: idx -> (partition, offset); got: list of (partition, offset, key, value, headers)
    in consumption order. Checks every record once, bytes, headers, and per-partition order."""
    check(len(sent) == n, "only %d of %d deliveries acknowledged" % (len(sent), n))
    seen = set()
    last = {}
    key_partition = {}
    for partition, offset, key, value, headers in got:
        hdr = [(k, bytes(v) if v is not None else None) for k, v in (headers or [])]
        idx_values = [v for k, v in hdr if k == "idx"]
        check(len(idx_values) == 1, "record p%d@%d has no single idx header: %r" % (partition, offset, hdr))
        i = int(idx_values[0])
        check(i not in seen, "record %d consumed twice" % i)
        seen.add(i)
        ekey, evalue, eheaders = keyed_record(i, client)
        check(key == ekey, "record %d: key %r, want %r" % (i, key, ekey))
        check(value == evalue, "record %d: value %r, want %r" % (i, value and value[:40], evalue and evalue[:40]))
        check(hdr == eheaders, "record %d: headers %r, want %r" % (i, hdr, eheaders))
        check((partition, offset) == sent[i], "record %d at p%d@%d, acknowledged at p%d@%d" % (
            i, partition, offset, sent[i][0], sent[i][1]))
        if partition in last:
            check(offset > last[partition][0] and i > last[partition][1],
                  "partition %d out of order: record %d@%d after %d@%d" % (
                      partition, i, offset, last[partition][1], last[partition][0]))
        last[partition] = (offset, i)
        check(key_partition.setdefault(key, partition) == partition, "key %r in two partitions" % key)
    check(len(seen) == n, "consumed %d distinct records of %d" % (len(seen), n))
    return "%d records over partitions %s" % (n, ",".join("%d" % p for p in sorted(last)))


def verify_codec(sent, got, n, codec, first=0):
    """sent: idx -> offset; got: list of (offset, key, value), expected to be records first..n-1
    (the only partition of the topic holds nothing else, so record i is at offset i)."""
    check(len(sent) == n, "only %d of %d deliveries acknowledged" % (len(sent), n))
    check(sorted(sent.values()) == list(range(n)), "acknowledged offsets are not 0..%d" % (n - 1))
    what = "from offset %d " % first if first else ""
    check(len(got) == n - first, "consumed %d records %s, want %d (first offset %s)" % (
        len(got), what, n - first, got[0][0] if got else None))
    for pos, (offset, key, value) in enumerate(got, start=first):
        ekey, evalue = codec_record(pos, codec)
        check(offset == sent[pos], "%srecord %d at offset %d, acknowledged at %d" % (what, pos, offset, sent[pos]))
        check(key == ekey and value == evalue, "%srecord %d differs: key %r value %r..." % (
            what, pos, key, (value or b"")[:30]))
    return "%d %s records" % (n - first, codec)


# --- raw Fetch: which codec did the client really use? --------------------------------
# Clients may silently fall back to no compression when they think the broker lacks a
# feature, and consuming gives no sign of it. So the compression scenarios read the stored
# batches with a hand-written Fetch v4 (not flexible, any broker with Fetch >= 4 serves it)
# and look at each record batch's attributes (codec = attributes & 7).

CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def _fetch_v4(sock, corr, topic, partition, offset):
    t = topic.encode()
    body = struct.pack(">iiiib", -1, 0, 0, 8 << 20, 0)
    body += struct.pack(">i", 1) + struct.pack(">h", len(t)) + t
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 8 << 20)
    cid = b"compat-raw-fetch"
    header = struct.pack(">hhi", 1, 4, corr) + struct.pack(">h", len(cid)) + cid
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    buf = _recv_exact(sock, size)
    got_corr, _throttle, n_topics = struct.unpack(">iii", buf[:12])
    check(got_corr == corr and n_topics == 1, "raw Fetch v4: correlation %d topics %d" % (got_corr, n_topics))
    pos = 12
    tlen = struct.unpack(">h", buf[pos:pos + 2])[0]
    pos += 2 + tlen
    _n_parts, _part, error, high_watermark, _lso, n_aborted = struct.unpack(">iihqqi", buf[pos:pos + 30])
    pos += 30 + max(n_aborted, 0) * 16
    check(error == 0, "raw Fetch v4: error code %d" % error)
    rlen = struct.unpack(">i", buf[pos:pos + 4])[0]
    records = buf[pos + 4:pos + 4 + max(rlen, 0)]
    return high_watermark, records


def _recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ScenarioError("raw Fetch v4: connection closed by the broker")
        out += chunk
    return out


def _varint(buf, pos):
    """(value, next position) of the zigzag varint at buf[pos]."""
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos


CONTROL_TYPES = {0: "ABORT", 1: "COMMIT"}


def stored_batches(bootstrap, topic, partition=0):
    """Every record batch stored in topic-partition as a raw Fetch v4 (read_uncommitted) serves
    it, control batches included: a list of dicts with base_offset, last_offset, codec,
    transactional, control, producer_id, producer_epoch, base_sequence, count, and for a control
    batch its marker (ABORT or COMMIT, from the control record's key)."""
    host, port = bootstrap.rsplit(":", 1)
    out = []
    offset = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for corr in range(1, 50):
            high_watermark, records = _fetch_v4(sock, corr, topic, partition, offset)
            pos = 0
            while pos + 61 <= len(records):
                base, blen = struct.unpack(">qi", records[pos:pos + 12])
                if pos + 12 + blen > len(records):
                    break  # a partial batch at the end of the response
                attributes, last_delta = struct.unpack(">hi", records[pos + 21:pos + 27])
                producer_id, epoch, base_seq, count = struct.unpack(">qhii", records[pos + 43:pos + 61])
                batch = {
                    "base_offset": base, "last_offset": base + last_delta,
                    "codec": CODEC_NAMES.get(attributes & 7, "codec%d" % (attributes & 7)),
                    "transactional": bool(attributes & 0x10), "control": bool(attributes & 0x20),
                    "producer_id": producer_id, "producer_epoch": epoch, "base_sequence": base_seq,
                    "count": count, "marker": None,
                }
                if batch["control"] and attributes & 7 == 0 and count >= 1:
                    # One record: length, attributes, timestamp delta, offset delta, key length,
                    # then the key: version int16, type int16.
                    _length, rpos = _varint(records, pos + 61)
                    _ts_delta, rpos = _varint(records, rpos + 1)  # + the attributes byte
                    _offset_delta, rpos = _varint(records, rpos)
                    key_len, rpos = _varint(records, rpos)
                    if key_len >= 4:
                        _version, ctype = struct.unpack(">hh", records[rpos:rpos + 4])
                        batch["marker"] = CONTROL_TYPES.get(ctype, "type%d" % ctype)
                out.append(batch)
                offset = base + last_delta + 1
                pos += 12 + blen
            if offset >= high_watermark or pos == 0:
                break
    return out


def batch_codecs(bootstrap, topic, partition=0):
    """{codec name: number of batches} of everything stored in topic-partition."""
    counts = {}
    for b in stored_batches(bootstrap, topic, partition):
        counts[b["codec"]] = counts.get(b["codec"], 0) + 1
    return counts


def check_codec_on_wire(bootstrap, topic, codec, client):
    counts = batch_codecs(bootstrap, topic)
    check(counts and set(counts) == {codec}, "%s stored the batches as %s, not %s: the client did not compress" % (
        client, ", ".join("%d %s" % (n, c) for c, n in sorted(counts.items())) or "nothing", codec))
    return "%d %s batches" % (counts[codec], codec)


# --- idempotent and transactional producers ------------------------------------------

def check_idempotent_on_wire(bootstrap, topic, partitions, client):
    """Every stored batch of topic carries one producer id (>= 0) and epoch, is not transactional,
    and per partition the base sequences run on from 0 without a gap or a repeat: the client did
    produce idempotently and the broker kept what it sent."""
    ids = set()
    n_batches = 0
    for p in partitions:
        seq = 0
        for b in stored_batches(bootstrap, topic, p):
            where = "p%d batch at offset %d" % (p, b["base_offset"])
            check(not b["control"] and not b["transactional"], "%s is a control or transactional batch" % where)
            check(b["producer_id"] >= 0 and b["producer_epoch"] >= 0,
                  "%s has producer id %d epoch %d: %s did not produce idempotently" % (
                      where, b["producer_id"], b["producer_epoch"], client))
            check(b["base_sequence"] == seq, "%s has base sequence %d, want %d (the records before it)" % (
                where, b["base_sequence"], seq))
            seq += b["count"]
            ids.add((b["producer_id"], b["producer_epoch"]))
            n_batches += 1
    check(len(ids) == 1, "batches carry %d producer ids/epochs %r, want one" % (len(ids), sorted(ids)))
    pid, epoch = ids.pop()
    return "%d batches of producer id %d epoch %d, sequences contiguous from 0" % (n_batches, pid, epoch)


def txn_records(tag):
    """[(partition, value)] of transaction tag in production order."""
    return [(i % 2, ("%s-%d" % (tag, i)).encode()) for i in range(N_TXN)]


def verify_txn_view(what, got, tags):
    """got: [(partition, offset, value)] in consumption order. Checks that exactly the records of
    transactions tags came back, each once, in production order per partition."""
    want = [pv for tag in tags for pv in txn_records(tag)]
    values = [v for _, _, v in got]
    dups = sorted(v for v in set(values) if values.count(v) > 1)
    check(not dups, "%s: consumed %s more than once" % (what, b" ".join(dups[:5]).decode()))
    extra = sorted(set(values) - {v for _, v in want})
    missing = sorted({v for _, v in want} - set(values))
    check(not extra and not missing, "%s: %d records; unexpected %s; missing %s" % (
        what, len(values), b" ".join(extra[:6]).decode() or "none", b" ".join(missing[:6]).decode() or "none"))
    for p in (0, 1):
        mine = [(o, v) for q, o, v in got if q == p]
        check([v for _, v in mine] == [v for q, v in want if q == p], "%s: partition %d out of production order: %s" % (
            what, p, b" ".join(v for _, v in mine).decode()))
        offsets = [o for o, _ in mine]
        check(offsets == sorted(offsets), "%s: partition %d offsets go back: %r" % (what, p, offsets))
    return "%s: %d records of %s" % (what, len(values), "+".join(tags))


def check_txn_markers(bootstrap, topic, client):
    """Each partition of the commit-abort topic holds, in order, a transactional data batch and
    then the control batch (marker) of each transaction of TXN_PLAN, all of one producer id."""
    want = [m for _, m in TXN_PLAN]
    notes = []
    for p in (0, 1):
        batches = stored_batches(bootstrap, topic, p)
        markers = [b["marker"] for b in batches if b["control"]]
        check(markers == want, "p%d stored markers %r, want %r" % (p, markers, want))
        data = [b for b in batches if not b["control"]]
        check(all(b["transactional"] for b in data), "p%d: %s sent non-transactional batches" % (p, client))
        ids = {(b["producer_id"], b["producer_epoch"]) for b in batches}
        check(len(ids) == 1, "p%d: batches and markers carry producer ids/epochs %r, want one" % (p, sorted(ids)))
        notes.append("p%d %d data batches + markers %s" % (p, len(data), ",".join(markers)))
    return "; ".join(notes)


def eos_input(i):
    """(key, value) of input record i of the EOS pipeline."""
    return ("k%d" % (i % 31)).encode(), ("in %d" % i).encode()


def eos_transform(value):
    return b"out " + value


def verify_eos(committed_values, uncommitted_count, committed_offsets, aborted):
    """committed_values: the output topic's values as a read_committed consumer sees them;
    uncommitted_count: how many records a read_uncommitted consumer sees there;
    committed_offsets: {partition: offset} the group committed on the input topic;
    aborted: inputs of the aborted transaction (their outputs are in the log, but aborted)."""
    want = {eos_transform(eos_input(i)[1]) for i in range(N_EOS)}
    check(len(committed_values) == len(set(committed_values)), "read_committed output has %d duplicates" % (
        len(committed_values) - len(set(committed_values))))
    extra, missing = set(committed_values) - want, want - set(committed_values)
    check(not extra and not missing, "read_committed output: %d records, %d unexpected, %d missing (e.g. %r)" % (
        len(committed_values), len(extra), len(missing), sorted(missing or extra)[:3]))
    total = sum(committed_offsets.values())
    check(total == N_EOS, "committed input offsets %r sum to %d, want %d" % (committed_offsets, total, N_EOS))
    check(uncommitted_count == N_EOS + aborted, "read_uncommitted output has %d records, want %d + %d aborted" % (
        uncommitted_count, N_EOS, aborted))
    return "%d outputs exactly once (read_committed), %d with the aborted transaction's (read_uncommitted), " \
        "committed input offsets sum to %d" % (N_EOS, uncommitted_count, total)


# --- the runner -----------------------------------------------------------------------

def _child(fn, bootstrap, client, scenario, conn, log_path):
    # The scenario's stderr (C libraries such as librdkafka log there) and Python logging both go
    # to the scenario's log file, which the parent shows when the scenario fails.
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stderr = os.fdopen(2, "w", buffering=1, errors="replace")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    ctx = Ctx(bootstrap, client, scenario, conn, log_path)
    try:
        note = fn(ctx) or "ok"
        conn.send(("done", "PASS", clean(note)))
    except ScenarioError as e:
        logging.getLogger("compat").error("FAIL %s", e)
        conn.send(("done", "FAIL", clean(e)))
    except BaseException as e:  # noqa: BLE001 - any client error is a FAIL with its reason
        logging.getLogger("compat").error("EXCEPTION\n%s", traceback.format_exc())
        conn.send(("done", "FAIL", clean("%s: %s" % (type(e).__name__, e))))
    finally:
        handler.flush()
        conn.close()
        # Skip interpreter teardown: client destructors must not hang a finished scenario.
        os._exit(0)


class Runner:
    def __init__(self, client, version):
        if len(sys.argv) < 2:
            sys.exit("usage: %s HOST:PORT [scenario ...]" % sys.argv[0])
        self.bootstrap = sys.argv[1]
        self.only = set(sys.argv[2:])
        self.client = client
        self.version = version
        self.allow = load_allow()
        self.failed_allowed = []
        self.log_dir = os.environ.get("PY_COMPAT_LOG_DIR") or tempfile.mkdtemp(prefix="py-compat-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.mp = multiprocessing.get_context("fork")
        print("== %s %s against %s (logs in %s)" % (client, version, self.bootstrap, self.log_dir),
              file=sys.stderr, flush=True)

    def run(self, scenario, fn, timeout=60):
        if self.only and scenario not in self.only:
            return
        log_path = os.path.join(self.log_dir, "%s.%s.log" % (self.client, scenario))
        parent, child = self.mp.Pipe(duplex=False)
        start = time.monotonic()
        proc = self.mp.Process(target=_child, args=(fn, self.bootstrap, self.client, scenario, child, log_path))
        proc.start()
        child.close()
        outcome, note, last_step = None, None, "starting"
        deadline = start + timeout
        while outcome is None:
            left = deadline - time.monotonic()
            if left <= 0:
                outcome, note = "FAIL", "timeout after %ds while %s" % (timeout, last_step)
                break
            if parent.poll(min(left, 0.5)):
                try:
                    msg = parent.recv()
                except EOFError:
                    proc.join(2)
                    outcome, note = "FAIL", "scenario process died (exit %s) while %s" % (proc.exitcode, last_step)
                    break
                if msg[0] == "step":
                    last_step = msg[1]
                else:
                    outcome, note = msg[1], msg[2]
        if proc.is_alive() and not note.startswith("timeout"):
            proc.join(3)  # it has reported and is exiting
        if proc.is_alive():
            proc.kill()
            proc.join(3)
        secs = time.monotonic() - start
        self.result(scenario, outcome, clean(note), secs, log_path)

    def result(self, scenario, outcome, note, secs, log_path=None):
        print("RESULT|%s|%s|%s|%s|%s|%s" % (SUITE, self.client, self.version, scenario, outcome, note), flush=True)
        print("   %s %s %s in %.1fs" % (self.client, scenario, outcome, secs), file=sys.stderr, flush=True)
        if outcome != "PASS":
            if "%s|%s" % (self.client, scenario) in self.allow:
                self.failed_allowed.append(scenario)
            if log_path and os.path.exists(log_path):
                print("   --- last lines of %s" % log_path, file=sys.stderr)
                with open(log_path, errors="replace") as f:
                    for line in f.readlines()[-25:]:
                        print("   | " + line.rstrip()[:300], file=sys.stderr)
                sys.stderr.flush()

    def finish(self):
        if self.failed_allowed:
            print("FAIL: allowlisted %s scenarios failed: %s" % (self.client, " ".join(self.failed_allowed)),
                  file=sys.stderr)
            sys.exit(1)
        sys.exit(0)


def wait_until(pred, timeout, interval=0.2):
    """Polls pred() until it returns a truthy value or the timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
