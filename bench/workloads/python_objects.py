# A realistic allocation mix for an interpreter: builds and drops nested
# containers, strings and byte buffers, and keeps a slowly growing cache.
import json
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
cache = {}
for r in range(rounds):
    records = [{"id": i, "name": "user-%d" % i, "tags": ["t%d" % (i % 7)] * 3,
                "blob": bytes(64 + i % 512)} for i in range(5000)]
    text = json.dumps([{k: v for k, v in rec.items() if k != "blob"} for rec in records])
    back = json.loads(text)
    cache[r] = back[: 50 + r]          # the part that is kept
    del records, text, back
print(sum(len(v) for v in cache.values()))
