"""pyzmq peer of `deno task bench:binding` (run with Debian's /usr/bin/python3).

    pyzmq_peer.py push|pull|req|rep <endpoint> <count> <size> [warmup]

Same modes, socket options (SNDHWM = RCVHWM = 1000, LINGER 10 s) and JSON
output as bench/peers/zmq_peer.c; uses pyzmq's ordinary blocking calls.
"""

import json
import sys
import time

import zmq

HWM = 1000


def percentile(sorted_samples, p):
    """The sample of rank round(p * n), as every peer computes it."""
    n = len(sorted_samples)
    rank = min(max(int(p * n + 0.5), 1), n)
    return sorted_samples[rank - 1]


def main(argv):
    if len(argv) < 5:
        print("usage: pyzmq_peer.py push|pull|req|rep <endpoint> <count> <size> [warmup]",
              file=sys.stderr)
        return 2
    mode, endpoint = argv[1], argv[2]
    count, size = int(argv[3]), int(argv[4])
    warmup = int(argv[5]) if len(argv) > 5 else 1000
    types = {"push": zmq.PUSH, "pull": zmq.PULL, "req": zmq.REQ, "rep": zmq.REP}
    if mode not in types:
        print(f'pyzmq_peer: unknown mode "{mode}"', file=sys.stderr)
        return 2
    ctx = zmq.Context()
    sock = ctx.socket(types[mode])
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)
    sock.setsockopt(zmq.LINGER, 10000)
    if mode in ("pull", "rep"):
        sock.bind(endpoint)
    else:
        sock.connect(endpoint)
    payload = b"x" * size

    if mode == "push":
        send = sock.send
        for _ in range(count):
            send(payload)
    elif mode == "pull":
        recv = sock.recv
        recv()
        first = time.perf_counter()
        for _ in range(count - 1):
            recv()
        seconds = time.perf_counter() - first
        print(json.dumps({
            "mode": "pull", "count": count, "size": size, "seconds": seconds,
            "msgs_per_s": (count - 1) / seconds if seconds > 0 else 0,
        }), flush=True)
    elif mode == "rep":
        for _ in range(warmup + count):
            sock.send(sock.recv())
    else:
        samples = []
        clock = time.perf_counter
        for i in range(warmup + count):
            start = clock()
            sock.send(payload)
            sock.recv()
            if i >= warmup:
                samples.append((clock() - start) * 1e6)
        samples.sort()
        print(json.dumps({
            "mode": "req", "count": count, "size": size,
            "p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99),
            "mean_us": sum(samples) / count,
        }), flush=True)
    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
