#!/usr/bin/python3
# Faithful re-implementation of the seed's design (the 2019 pyzmq assignment's F_R.py:
# forwarder + start barrier + ROUTER), written for this project as an interop peer and a
# benchmark baseline. It is not the seed's code; it keeps the seed's sockets, frames and
# behaviour (including its weaknesses) and adds only long flags and a clean shutdown.
#
#   /usr/bin/python3 broker.py -nc N [--host 127.0.0.1] [--base-port 5559] [--verbose]
#
# Ports: base = SUB frontend (multicast in, subscribed to everything), base+1 = PUB backend
# (multicast out), base+2 = REP start barrier, base+3 = ROUTER for direct messages.
# After N participants (clients + sequencer) have synchronised, the single frame b"start" is
# published on the backend, then zmq.proxy(frontend, backend) runs in one thread while the
# ROUTER forwards [sender, "", receiver, payload] -> [receiver, "", sender, payload] in another.
# SIGINT/SIGTERM terminate the context; the process exits 0.
import argparse
import os
import signal
import sys
import threading
import time

import zmq


def log(*parts):
    print(*parts, flush=True)


def forwarder_tom(frontend, backend, syncservice, expected):
    """The seed's forwarder_tom(): barrier on REP, publish 'start', then proxy forever."""
    try:
        subscribers = 0
        while subscribers < expected:
            syncservice.recv()  # wait for synchronization request
            syncservice.send(b"")  # send synchronization reply
            subscribers += 1
            log("+1 subscriber (%i/%i)" % (subscribers, expected))
        # Not in the seed: libzmq attaches a new connection to a socket only when the owning
        # thread calls into that socket, so the frontend SUB, untouched during the barrier,
        # would send its subscription to the clients' PUBs only once zmq.proxy starts, and
        # the PUBs would drop whatever they multicast right after "start". The seed escaped
        # this by its slow, manual start. Let the frontend attach its connections (EVENTS
        # processes pending commands) and give the subscriptions a moment to arrive first.
        frontend.getsockopt(zmq.EVENTS)
        time.sleep(0.05)
        frontend.getsockopt(zmq.EVENTS)
        backend.send(b"start")
        zmq.proxy(frontend, backend)
    except zmq.ContextTerminated:
        pass
    except zmq.ZMQError as e:  # the seed printed the error and brought the device down
        print("forwarder: %s" % e, file=sys.stderr, flush=True)
    finally:
        log("bringing down zmq device")
        for s in (frontend, backend, syncservice):
            s.close(linger=0)


def router_uno(router, verbose):
    """The seed's router_uno(): poll the ROUTER and switch direct messages."""
    poller = zmq.Poller()
    poller.register(router, zmq.POLLIN)
    try:
        while True:
            socks = dict(poller.poll())
            if socks.get(router) == zmq.POLLIN:
                frames = router.recv_multipart()
                if len(frames) != 4:
                    # the seed would die here (tuple unpacking); we drop and report instead
                    print("router: dropped message with %d frames (want 4)" % len(frames),
                          file=sys.stderr, flush=True)
                    continue
                sender_id, _empty, receiver_id, message = frames
                if verbose:
                    log("Received ", message.decode("ascii", "replace"), " from ",
                        sender_id.decode("ascii", "replace"), "!")
                    log("Forwarding to ", receiver_id.decode("ascii", "replace"))
                router.send_multipart([receiver_id, b"", sender_id, message])
    except zmq.ContextTerminated:
        pass
    finally:
        router.close(linger=0)


def main():
    ap = argparse.ArgumentParser(
        description="Seed-design broker (forwarder + start barrier + ROUTER), pyzmq.")
    ap.add_argument("-nc", "--expect", dest="expect", type=int, required=True,
                    help="participants to wait for before 'start' (clients + sequencer)")
    ap.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    ap.add_argument("--base-port", type=int, default=5559, help="first of 4 ports (default 5559)")
    ap.add_argument("--verbose", action="store_true", help="print the seed's per-message log")
    args = ap.parse_args()

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    context = zmq.Context()
    context.setsockopt(zmq.LINGER, 0)
    base = args.base_port

    def ep(offset):
        return "tcp://%s:%d" % (args.host, base + offset)

    try:
        frontend = context.socket(zmq.SUB)  # socket facing clients
        frontend.bind(ep(0))
        frontend.setsockopt(zmq.SUBSCRIBE, b"")
        backend = context.socket(zmq.PUB)  # socket facing services
        backend.bind(ep(1))
        syncservice = context.socket(zmq.REP)  # socket to receive signals
        syncservice.bind(ep(2))
        router = context.socket(zmq.ROUTER)
        router.bind(ep(3))
    except zmq.ZMQError as e:
        print("broker: cannot bind on %s ports %d-%d: %s" % (args.host, base, base + 3, e),
              file=sys.stderr, flush=True)
        context.destroy(linger=0)
        return 1

    threads = [
        threading.Thread(target=forwarder_tom, name="forwarder",
                         args=(frontend, backend, syncservice, args.expect), daemon=True),
        threading.Thread(target=router_uno, name="router", args=(router, args.verbose),
                         daemon=True),
    ]
    for t in threads:
        t.start()

    while not stop.is_set():
        stop.wait(0.5)

    # Terminate the context: blocked recv/proxy/poll calls raise ContextTerminated, each thread
    # closes its own sockets, then term() returns. Never hang: give up after 3 s.
    terminator = threading.Thread(target=context.term, daemon=True)
    terminator.start()
    terminator.join(3.0)
    for t in threads:
        t.join(0.5)
    if terminator.is_alive():
        sys.stdout.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
