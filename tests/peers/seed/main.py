#!/usr/bin/python3
# Faithful re-implementation of the seed's design (the 2019 pyzmq assignment's main.py +
# client.py: sequencer and client), written for this project as an interop peer and a
# benchmark baseline. It is not the seed's code; it keeps the seed's sockets, wire frames and
# holdback algorithm (including its weaknesses: PUB/SUB drops at the high-water mark are never
# repaired, and a missing message stalls delivery forever) and adds only long flags,
# --time-scale, --idle-exit and a clean shutdown.
#
#   /usr/bin/python3 main.py -id sequencer [--host H] [--base-port P] [--idle-exit S] [--verbose]
#   /usr/bin/python3 main.py -id c1 -com script.txt -o outdir [--host H] [--base-port P]
#                            [--time-scale F] [--idle-exit S] [--verbose]
#
# Differences in structure, not in behaviour: the seed used one thread per receiving socket
# feeding queues q1/q2 plus a delivery loop that slept 10 ms per pass. ZeroMQ sockets are not
# thread-safe, so here one loop owns all sockets, polls them with a short timeout and runs the
# script's actions when they are due; the holdback (cmd_list / seq_list / L) is the seed's.
import argparse
import collections
import os
import signal
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

EXIT_MALFORMED = 3  # a bus message that a seed peer cannot unpack (the seed's thread would die)


class Malformed(Exception):
    pass


class SeedClient:
    """The seed's client.py: c_socket(), send_tom(), recv_tom(), send_uno(), recv_uno()."""

    def __init__(self, identity, host, base_port, verbose=False):
        self.identity = identity
        self.verbose = verbose
        self.context = zmq.Context()
        self.context.setsockopt(zmq.LINGER, 500)

        def ep(offset):
            return "tcp://%s:%d" % (host, base_port + offset)

        # Multicasting
        self.client_receiver = self.context.socket(zmq.SUB)
        self.client_sender = self.context.socket(zmq.PUB)
        # synchronization with publisher
        self.syncclient = self.context.socket(zmq.REQ)
        # unordered messaging
        self.client_deal = self.context.socket(zmq.DEALER)
        self.client_deal.setsockopt(zmq.IDENTITY, identity.encode())
        # Not in the seed (which assumed the broker was started first): watch the handshakes of
        # the sockets that drop or lose messages while unconnected, see synchronize().
        self.monitors = [s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
                         for s in (self.client_receiver, self.client_sender, self.client_deal)]
        self.client_receiver.connect(ep(1))
        self.client_receiver.setsockopt(zmq.SUBSCRIBE, b"")
        self.client_sender.connect(ep(0))
        self.syncclient.connect(ep(2))
        self.client_deal.connect(ep(3))

    def log(self, *parts):
        if self.verbose:
            print(*parts, flush=True)

    def synchronize(self, stopped):
        """Send the sync request, wait for the reply, then wait on the SUB for b'start'.
        Returns False if stopped by a signal first.
        Before synchronising, wait until the SUB, PUB and DEALER connections are up: a PUB
        drops what it sends before its connection exists, a SUB misses 'start', and the broker's
        ROUTER drops direct messages to a DEALER it does not know yet. The seed had the same
        races but avoided them by starting the broker by hand first; nothing on the wire changes."""
        for sock, mon in zip((self.client_receiver, self.client_sender, self.client_deal),
                             self.monitors):
            while True:
                if stopped():
                    return False
                if mon.poll(50):
                    ev = recv_monitor_message(mon)
                    if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                        break
            sock.disable_monitor()
            mon.close(linger=0)
        self.monitors = []
        self.syncclient.send(b"")  # sending a synchronization request
        while not self.syncclient.poll(50):  # waiting for synchronization reply
            if stopped():
                return False
        self.syncclient.recv()
        while True:
            if stopped():
                return False
            if not self.client_receiver.poll(50):
                continue
            frames = self.client_receiver.recv_multipart()
            if frames == [b"start"]:  # All clients are connected, Start!
                return True

    def send_tom(self, msg, seq_num=None):
        self.log("sending ", msg.decode("ascii", "replace"), " from ", self.identity, " to all!")
        seq = seq_num if seq_num is not None else b""
        self.client_sender.send_multipart([self.identity.encode(), seq, msg])

    def recv_tom(self):
        """Non-blocking. Returns None, [msg] (from a client) or [msg, seq_num] (sequencer)."""
        try:
            frames = self.client_receiver.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        if len(frames) != 3:
            raise Malformed("bus message with %d frames %r (a seed peer unpacks exactly 3)"
                            % (len(frames), frames[:4]))
        sender_id, seq_num, msg = frames
        self.log("Received ", msg.decode("ascii", "replace"), " from ",
                 sender_id.decode("ascii", "replace"), "!")
        if seq_num == b"":
            return [msg]
        return [msg, seq_num]  # to be able to receive sequence number sent by sequencer

    def send_uno(self, receiver_id, msg):
        self.log("Sending ", msg.decode("ascii", "replace"), " to ",
                 receiver_id.decode("ascii", "replace"), "!")
        self.client_deal.send_multipart([b"", receiver_id, msg])

    def recv_uno(self):
        """Non-blocking. Returns None or the payload of a direct message."""
        try:
            frames = self.client_deal.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        if len(frames) != 3:
            print("%s: dropped direct message with %d frames (want 3)"
                  % (self.identity, len(frames)), file=sys.stderr, flush=True)
            return None
        _empty, sender_id, msg = frames
        self.log("Received ", msg.decode("ascii", "replace"), " from ",
                 sender_id.decode("ascii", "replace"), "!")
        return msg

    def close(self):
        self.context.destroy(linger=500)


class Holdback:
    """The seed's tom_uno() holdback: cmd_list holds client multicasts, seq_list holds the
    sequencer's orders in arrival order, L is the local sequence number. The head order is
    delivered when G == L + 1 and an equal payload from a client has arrived; otherwise
    delivery waits (forever, if that payload or order was lost).
    cmd_list is kept as a multiset of payloads (the seed's `[m] in cmd_list` /
    `cmd_list.index` / `del` on a list, with identical results, without the O(n) scan)."""

    def __init__(self):
        self.cmd_list = collections.Counter()
        self.cmd_count = 0
        self.seq_list = collections.deque()
        self.l_seq_num = 0  # local sequence number (initial value set to 0)

    def add(self, item):
        if len(item) == 1:  # from a client
            self.cmd_list[item[0]] += 1
            self.cmd_count += 1
        else:  # from the sequencer
            try:
                g = int(item[1].decode("ascii"))
            except ValueError:
                raise Malformed("sequence number %r is not decimal" % (item[1],))
            self.seq_list.append((g, item[0]))

    def deliver(self):
        out = []
        while self.seq_list:
            g, msg = self.seq_list[0]
            if g != self.l_seq_num + 1 or self.cmd_list[msg] == 0:
                break
            self.cmd_list[msg] -= 1
            if self.cmd_list[msg] == 0:
                del self.cmd_list[msg]
            self.cmd_count -= 1
            self.seq_list.popleft()
            self.l_seq_num += 1
            out.append(msg)
        return out


def parse_script(path):
    """Lines: Multicast,<me>,<text> | <me>,<to>,<text> | sleep,<seconds>. Blank lines and
    '#' comments are skipped. Like the seed, the sender field is not checked: the client
    always sends as its own -id."""
    actions = []
    with open(path, "r", encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split(",", 2)
            if fields[0] == "sleep" and len(fields) == 2:
                try:
                    actions.append(("sleep", float(fields[1])))
                except ValueError:
                    raise SystemExit("%s:%d: bad number of seconds in %r" % (path, lineno, line))
            elif len(fields) == 3 and fields[0] == "Multicast":
                actions.append(("multicast", fields[2]))
            elif len(fields) == 3:
                actions.append(("direct", fields[1], fields[2]))
            else:
                raise SystemExit("%s:%d: expected Multicast,<me>,<text> or <me>,<to>,<text> "
                                 "or sleep,<seconds>, got %r" % (path, lineno, line))
    return actions


class Stopper:
    def __init__(self):
        self.stopped = False
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)

    def on_signal(self, _signum, _frame):
        self.stopped = True

    def __call__(self):
        return self.stopped


def run_sequencer(args, stop):
    c = SeedClient("sequencer", args.host, args.base_port, args.verbose)
    code = 0
    try:
        if not c.synchronize(stop):
            return 0
        g_seq_num = 0  # global sequence number (initial value set to 0)
        last_rx = time.monotonic()
        while not stop():
            if c.client_receiver.poll(50):
                while True:
                    msg = c.recv_tom()
                    if msg is None:
                        break
                    last_rx = time.monotonic()
                    if len(msg) == 1:
                        g_seq_num += 1
                        c.send_tom(msg[0], str(g_seq_num).encode())
            # drain (and ignore) anything sent to the sequencer directly
            while c.recv_uno() is not None:
                last_rx = time.monotonic()
            if args.idle_exit is not None and time.monotonic() - last_rx >= args.idle_exit:
                break
    except Malformed as e:
        print("sequencer: %s" % e, file=sys.stderr, flush=True)
        code = EXIT_MALFORMED
    finally:
        c.close()
    return code


def run_client(args, stop):
    actions = parse_script(args.com) if args.com else []
    os.makedirs(args.o, exist_ok=True)
    c = SeedClient(args.id, args.host, args.base_port, args.verbose)
    me = args.id
    code = 0
    delivered = 0
    with open(os.path.join(args.o, "test_result_" + me + "_tom.txt"), "wb", 0) as g, \
            open(os.path.join(args.o, "test_result_" + me + "_uno.txt"), "wb", 0) as h:
        try:
            if not c.synchronize(stop):
                return 0
            hb = Holdback()
            poller = zmq.Poller()
            poller.register(c.client_receiver, zmq.POLLIN)
            poller.register(c.client_deal, zmq.POLLIN)
            idx = 0
            next_at = time.monotonic()
            last_rx = next_at
            script_done_at = None
            while not stop():
                now = time.monotonic()
                while idx < len(actions) and now >= next_at:
                    act = actions[idx]
                    idx += 1
                    if act[0] == "sleep":
                        next_at = now + act[1] * args.time_scale
                    elif act[0] == "multicast":
                        c.send_tom(("%s###%s" % (me, act[1])).encode())
                    else:
                        c.send_uno(act[1].encode(), ("%s###%s" % (me, act[2])).encode())
                    now = time.monotonic()
                if idx >= len(actions) and script_done_at is None:
                    script_done_at = now
                wait_ms = 50
                if idx < len(actions):
                    wait_ms = max(0, min(wait_ms, int((next_at - now) * 1000) + 1))
                socks = dict(poller.poll(wait_ms))
                if socks.get(c.client_deal):  # checking for unordered messages
                    while True:
                        m = c.recv_uno()
                        if m is None:
                            break
                        last_rx = time.monotonic()
                        h.write(m + b"\n")
                if socks.get(c.client_receiver):  # checking for totally ordered messages
                    while True:
                        item = c.recv_tom()
                        if item is None:
                            break
                        last_rx = time.monotonic()
                        hb.add(item)
                    for m in hb.deliver():
                        g.write(m + b"\n")
                        delivered += 1
                if (args.idle_exit is not None and script_done_at is not None
                        and time.monotonic() - max(last_rx, script_done_at) >= args.idle_exit):
                    break
            if args.verbose or hb.seq_list or hb.cmd_count:
                print("%s: delivered %d, held back %d client multicasts and %d orders (L=%d)"
                      % (me, delivered, hb.cmd_count, len(hb.seq_list), hb.l_seq_num),
                      file=sys.stderr, flush=True)
        except Malformed as e:
            print("%s: %s" % (me, e), file=sys.stderr, flush=True)
            code = EXIT_MALFORMED
        finally:
            c.close()
    return code


def build_parser(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("-id", "--id", dest="id", required=True,
                    help="'sequencer' or a client id such as c1")
    ap.add_argument("--host", default="127.0.0.1", help="broker address (default 127.0.0.1)")
    ap.add_argument("--base-port", type=int, default=5559, help="broker base port (default 5559)")
    ap.add_argument("--idle-exit", type=float, default=None, metavar="S",
                    help="exit 0 after S seconds without traffic (clients: once the script is done)")
    ap.add_argument("--verbose", action="store_true", help="print the seed's per-message log")
    return ap


def main():
    ap = build_parser("Seed-design sequencer (-id sequencer) or client, pyzmq.")
    ap.add_argument("-com", "--script", dest="com", default=None, help="command file")
    ap.add_argument("-o", "--out", dest="o", default=".", help="output directory (default .)")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="multiply every sleep by this (default 1.0)")
    args = ap.parse_args()
    stop = Stopper()
    if args.id == "sequencer":
        return run_sequencer(args, stop)
    return run_client(args, stop)


if __name__ == "__main__":
    sys.exit(main())
