#!/usr/bin/python3
# Faithful re-implementation of the seed's design (a client of the 2019 pyzmq assignment,
# see main.py), written for this project as a benchmark baseline: instead of a script it
# multicasts --count payloads with no sleeps right after "start", and delivers with the seed's
# holdback. The seed's design is expected to lose messages under a burst (PUB/SUB drops at the
# high-water mark, nothing repairs them) and then stall; this peer therefore ends by itself
# after --idle-exit seconds without traffic and reports what it delivered.
#
#   /usr/bin/python3 burst.py -id c1 --count N --size B [--expect-deliveries M]
#                             [--idle-exit S] [-o outdir] [--host H] [--base-port P]
#
# Payload i (i = 0 .. N-1) is "<id>###<i left-padded with zeros to B characters>".
# Prints one JSON line on stdout:
#   {"id", "delivered", "seconds", "per_sec", "sent", "expected", "complete"}
# where seconds runs from "start" to the last delivery.
import json
import os
import sys
import time

import zmq

sys.dont_write_bytecode = True  # importing main.py must not leave __pycache__ behind
from main import Holdback, Malformed, SeedClient, Stopper, build_parser, EXIT_MALFORMED


def main():
    ap = build_parser("Seed-design burst client for benchmarks, pyzmq.")
    ap.add_argument("--count", type=int, required=True, help="multicasts to send")
    ap.add_argument("--size", type=int, default=0,
                    help="width of the zero-padded counter after '###' (default: no padding)")
    ap.add_argument("--expect-deliveries", type=int, default=None, metavar="M",
                    help="exit once M multicasts have been delivered")
    ap.add_argument("-o", "--out", dest="o", default=None,
                    help="if given, also write test_result_<id>_tom.txt there")
    ap.set_defaults(idle_exit=5.0)
    args = ap.parse_args()
    stop = Stopper()
    me = args.id

    out = None
    if args.o:
        os.makedirs(args.o, exist_ok=True)
        out = open(os.path.join(args.o, "test_result_" + me + "_tom.txt"), "wb", 0)

    c = SeedClient(me, args.host, args.base_port, args.verbose)
    hb = Holdback()
    delivered = 0
    sent = 0
    code = 0
    t_start = t_last = None
    try:
        if not c.synchronize(stop):
            raise KeyboardInterrupt
        t_start = t_last = time.monotonic()
        last_rx = t_start

        def drain():
            nonlocal delivered, t_last, last_rx
            got = False
            while True:
                item = c.recv_tom()
                if item is None:
                    break
                got = True
                hb.add(item)
            while c.recv_uno() is not None:
                got = True
            if got:
                last_rx = time.monotonic()
                for m in hb.deliver():
                    delivered += 1
                    if out:
                        out.write(m + b"\n")
                t_last = time.monotonic() if delivered else t_last

        def done():
            return args.expect_deliveries is not None and delivered >= args.expect_deliveries

        # The seed received in other threads while sending; interleave draining with sending.
        prefix = (me + "###").encode()
        for i in range(args.count):
            if stop():
                break
            c.send_tom(prefix + str(i).zfill(args.size).encode())
            sent += 1
            if c.client_receiver.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                drain()
        last_rx = max(last_rx, time.monotonic())

        while not stop() and not done():
            c.client_receiver.poll(50)
            drain()
            if time.monotonic() - last_rx >= args.idle_exit:
                break
    except KeyboardInterrupt:  # stopped by a signal before "start"
        pass
    except Malformed as e:
        print("%s: %s" % (me, e), file=sys.stderr, flush=True)
        code = EXIT_MALFORMED
    finally:
        c.close()
        if out:
            out.close()

    seconds = (t_last - t_start) if t_start is not None else 0.0
    print(json.dumps({
        "id": me,
        "delivered": delivered,
        "seconds": round(seconds, 6),
        "per_sec": round(delivered / seconds, 1) if seconds > 0 else 0.0,
        "sent": sent,
        "expected": args.expect_deliveries,
        "complete": args.expect_deliveries is not None and delivered >= args.expect_deliveries,
    }), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
