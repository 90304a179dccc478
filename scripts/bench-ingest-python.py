#!/usr/bin/env python3
"""Reference for `exchange bench ingest`: a plain Python loop (json.loads + dict book) applying the
capture's depth frames, repeated, as the issue describes. Prints one JSON document."""
import json
import sys
import time

ws = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/binance/spot-ws-2021-10-12.txt"
rest = sys.argv[2] if len(sys.argv) > 2 else "../shared/fixtures/binance/spot-rest-2021-10-12.txt"
target = int(sys.argv[3]) if len(sys.argv) > 3 else 500_000

snapshots = {}
for line in open(rest).read().split("\n"):
    if " -> " not in line:
        continue
    url, _, rest_line = line.partition(" -> ")
    body = rest_line.split(": ", 1)[1]
    symbol = url.split("symbol=")[1].split("&")[0]
    snapshots[symbol] = json.loads(body)

frames = []
for line in open(ws).read().split("\n")[1:]:
    if "@depth" in line:
        frames.append(line.split(": ", 1)[1])

def fresh_books():
    books = {}
    for symbol, snap in snapshots.items():
        books[symbol] = {"bids": {p: q for p, q in snap["bids"]}, "asks": {p: q for p, q in snap["asks"]},
                         "last": snap["lastUpdateId"]}
    return books

done = 0
elapsed = 0.0
while done < target:
    books = fresh_books()
    start = time.perf_counter()
    for text in frames:
        data = json.loads(text)["data"]
        book = books[data["s"]]
        if data["u"] <= book["last"]:
            continue
        for side, key in (("bids", "b"), ("asks", "a")):
            levels = book[side]
            for price, qty in data[key]:
                if float(qty) == 0:
                    levels.pop(price, None)
                else:
                    levels[price] = qty
        book["last"] = data["u"]
    elapsed += time.perf_counter() - start
    done += len(frames)

print(json.dumps({"benchmark": "ingest-python-reference", "python": sys.version.split()[0], "frames": done,
                  "seconds": round(elapsed, 3), "frames_per_s": int(done / elapsed)}, indent=2))
