#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""pyroscope-receiver.py - a stand-in for a Pyroscope server's POST /ingest,
for heaptrace's push tests (no Pyroscope server can be installed here).

It checks a request as the endpoint's documentation and default limits say,
answering as the server does: 400 for bad metadata (no or a malformed name,
label names that are not Prometheus-valid or reserved, more than 30 labels
with service_name, values over 2048 bytes, missing from/until, a format that
is not pprof, a multipart body without a "profile" part, a
sample_type_config that is not JSON naming the profile's sample types, more
than 16,000 samples), 413 for a profile over 4 MiB uncompressed, 401 without
the bearer token it was given. Every accepted profile is saved as
DIR/NNNN.pb.gz, and one JSON line per request (accepted or not) goes to
DIR/requests.jsonl, with what the test compares: the name, labels, from,
until, the profile's time_nanos and sample count.

  pyroscope-receiver.py --dir DIR [--port N] [--port-file FILE]
                        [--token TOKEN] [--tls CERT KEY]
  pyroscope-receiver.py --time-of FILE...   print each profile's time_nanos
  pyroscope-receiver.py --samples-of FILE... print each profile's sample count
"""
import argparse
import gzip
import http.server
import json
import re
import ssl
import sys
import threading
import urllib.parse

MAX_LABELS = 30
MAX_VALUE = 2048
MAX_SAMPLES = 16000
MAX_BYTES = 4 << 20
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
UNITS = {"samples", "objects", "bytes", "goroutines", "lock_samples", "lock_nanoseconds"}


class Refused(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


def varint(buf, pos):
    shift = value = 0
    while True:
        if pos >= len(buf):
            raise Refused(400, "failed to parse pprof: truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def fields(buf):
    """Top-level protobuf fields: (number, wire type, value or bytes)."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = varint(buf, pos)
        elif wt == 2:
            n, pos = varint(buf, pos)
            v = buf[pos:pos + n]
            if len(v) != n:
                raise Refused(400, "failed to parse pprof: truncated field")
            pos += n
        elif wt == 1:
            v, pos = buf[pos:pos + 8], pos + 8
        elif wt == 5:
            v, pos = buf[pos:pos + 4], pos + 4
        else:
            raise Refused(400, "failed to parse pprof: wire type %d" % wt)
        yield num, wt, v


def read_profile(raw):
    """What the checks need of a pprof: sample types, sample count, time, comments."""
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    if len(data) > MAX_BYTES:
        raise Refused(413, "profile payload size exceeds limit of %d bytes: %d" % (MAX_BYTES, len(data)))
    strings, types, samples, time_nanos, comments = [], [], 0, 0, []
    for num, wt, v in fields(data):
        if num == 1 and wt == 2:
            vt = {n: x for n, _, x in fields(v)}
            types.append((vt.get(1, 0), vt.get(2, 0)))
        elif num == 2 and wt == 2:
            samples += 1
        elif num == 6 and wt == 2:
            strings.append(v.decode("utf-8", "replace"))
        elif num == 9 and wt == 0:
            time_nanos = v
        elif num == 13 and wt == 0:
            comments.append(v)
        elif num == 13 and wt == 2:  # packed, as proto3 writes repeated numbers
            pos = 0
            while pos < len(v):
                c, pos = varint(v, pos)
                comments.append(c)
    try:
        types = [(strings[t], strings[u]) for t, u in types]
        comments = [strings[c] for c in comments]
    except IndexError:
        raise Refused(400, "failed to parse pprof: string index out of range")
    return types, samples, time_nanos, comments


def parse_name(name):
    """app{k=v,...} as the ingest handler reads it: service_name and labels."""
    m = re.match(r"^([^{}]+)(\{(.*)\})?$", name)
    if not m or not m.group(1):
        raise Refused(400, "invalid name %r: want app{key=value,...}" % name)
    labels = {"service_name": m.group(1)}
    body = m.group(3)
    for kv in (body.split(",") if body else []):
        if "=" not in kv:
            raise Refused(400, "invalid label %r in name" % kv)
        k, v = kv.split("=", 1)
        if not LABEL_NAME.match(k):
            raise Refused(400, "invalid label name %r" % k)
        if k.startswith("__"):
            raise Refused(400, "label name %r is reserved" % k)
        if k in labels:
            raise Refused(400, "duplicate label name %r" % k)
        if not v or len(v) > MAX_VALUE:
            raise Refused(400, "label %r value length %d is out of range 1-%d" % (k, len(v), MAX_VALUE))
        labels[k] = v
    if len(labels) > MAX_LABELS:
        raise Refused(400, "profile series has %d labels, the limit is %d" % (len(labels), MAX_LABELS))
    return labels


def multipart(ctype, body):
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not ctype or not ctype.startswith("multipart/form-data") or not m:
        raise Refused(400, "want a multipart/form-data body")
    sep = b"--" + m.group(1).encode()
    parts = {}
    for chunk in body.split(sep)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        nm = re.search(rb'name="([^"]+)"', head)
        if nm:
            parts[nm.group(1).decode()] = data[:-2] if data.endswith(b"\r\n") else data
    return parts


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, text=""):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        srv = self.server
        record = {"path": self.path}
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/ingest":
                raise Refused(404, "not found")
            if srv.token and self.headers.get("Authorization") != "Bearer " + srv.token:
                raise Refused(401, "unauthorized")
            q = urllib.parse.parse_qs(url.query)
            record["name"] = name = q.get("name", [""])[0]
            labels = parse_name(name)
            try:
                frm, until = int(q["from"][0]), int(q["until"][0])
            except (KeyError, ValueError):
                raise Refused(400, "from and until must be unix times")
            if frm > until:
                raise Refused(400, "from is after until")
            if q.get("format", ["folded"])[0] != "pprof":
                raise Refused(400, "this receiver takes format=pprof only")
            parts = multipart(self.headers.get("Content-Type"), body)
            if "profile" not in parts:
                raise Refused(400, "no profile part in the form")
            types, samples, time_nanos, comments = read_profile(parts["profile"])
            if samples > MAX_SAMPLES:
                raise Refused(400, "profile has %d samples, the limit is %d" % (samples, MAX_SAMPLES))
            stc = None
            if "sample_type_config" in parts:
                try:
                    stc = json.loads(parts["sample_type_config"])
                except ValueError:
                    raise Refused(400, "sample_type_config is not JSON")
                names = {t for t, _ in types}
                for k, v in stc.items():
                    if k not in names or v.get("units", "samples") not in UNITS:
                        raise Refused(400, "sample_type_config: bad entry %r" % k)
            with srv.lock:
                srv.seq += 1
                fname = "%s/%04d.pb.gz" % (srv.dir, srv.seq)
            with open(fname, "wb") as f:
                f.write(parts["profile"])
            record.update(code=200, labels=labels, service_name=labels["service_name"],
                          frm=frm, until=until, time_nanos=time_nanos, samples=samples,
                          types=types, stc=stc, comments=comments, file=fname)
            self.answer(200)
        except Refused as e:
            record.update(code=e.code, error=str(e))
            self.answer(e.code, str(e))
        with srv.lock, open(srv.dir + "/requests.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--time-of", nargs="+")
    ap.add_argument("--samples-of", nargs="+")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    if a.time_of:
        for name in a.time_of:
            with open(name, "rb") as f:
                print(read_profile(f.read())[2])
        return 0
    if a.samples_of:
        for name in a.samples_of:
            with open(name, "rb") as f:
                print(read_profile(f.read())[1])
        return 0
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.dir, srv.token, srv.lock = a.dir, a.token, threading.Lock()
    # Numbering goes on across restarts into the same directory.
    try:
        with open(a.dir + "/requests.jsonl") as f:
            srv.seq = sum(1 for line in f if '"code": 200' in line)
    except OSError:
        srv.seq = 0
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
