/**
 * Membership views, without sockets: the wire grammar of views and of the
 * recovery messages that carry them, the sequencer's `Membership` and the
 * member's `ViewBook`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProtocolError } from "../roles/protocol/bus.ts";
import { decodeView, encodeView, formatView, type View } from "../roles/protocol/view.ts";
import { decodeRecovery, encodeRecovery } from "../roles/protocol/recovery.ts";
import { Membership } from "../roles/sequencer/membership.ts";
import { ViewBook } from "../roles/member/view_book.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const recovery = (line: string) => decodeRecovery(encoder.encode(line));

/** Asserts that `run` throws a ProtocolError whose message matches `expected`. */
function throwsProtocolError(run: () => unknown, expected: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.match(error.message, expected);
    return true;
  });
}

/** A view; `members` sorted as the sequencer sends them. */
function view(number: number, after: number, members: string[], more: Partial<View> = {}): View {
  return { view: number, after, members, joined: [], left: [], ...more };
}

const full = view(3, 1200, ["c1", "c2", "c3"], {
  joined: ["c3"],
  left: [{ id: "c4", why: "timeout" }, { id: "c5", why: "leave" }],
});

Deno.test("encodeView() and decodeView() round trip a view, and an empty one as dashes", () => {
  assert.equal(encodeView(full), "VIEW 3 1200 c1,c2,c3 c3 c4:timeout,c5:leave");
  assert.deepEqual(decodeView(encodeView(full).split(" ")), full);
  const empty = view(1, 0, []);
  assert.equal(encodeView(empty), "VIEW 1 0 - - -");
  assert.deepEqual(decodeView("VIEW 1 0 - - -".split(" ")), empty);
});

Deno.test("decodeView() refuses bad ids, unknown reasons, wrong word counts and numbers", () => {
  for (
    const line of [
      "VIEW 1 0 c1,c#2 - -",
      "VIEW 1 0 c1,,c2 - -",
      "VIEW 1 0 sequencer - -",
      "VIEW 1 0 c1 - c4:crash",
      "VIEW 1 0 c1 - c4",
      "VIEW 1 0 c1 - c4:leave:x",
      "VIEW 1 0 c1 -",
      "VIEW 1 0 c1 - - -",
      "VIEW 0 0 - - -",
      "VIEW 1 -1 - - -",
      "VIEW 01 0 - - -",
    ]
  ) {
    throwsProtocolError(() => decodeView(line.split(" ")), /expected "VIEW <n> <after> /);
    throwsProtocolError(() => recovery(line), /expected "VIEW <n> <after> /);
  }
});

Deno.test("decodeRecovery() reads back VIEW, VIEWS, LEAVE, EVICTED and HIGHEST with a view", () => {
  const messages = [
    { kind: "view", view: full },
    { kind: "views", from: 4 },
    { kind: "leave" },
    { kind: "evicted", view: 7 },
    { kind: "highest", seq: 10, epoch: "ab12", lowest: 1, delivered: 9, view: 3 },
  ] as const;
  const lines = messages.map((message) => decoder.decode(encodeRecovery(message)));
  assert.deepEqual(lines, [
    encodeView(full),
    "VIEWS 4",
    "LEAVE",
    "EVICTED 7",
    "HIGHEST 10 ab12 1 9 3",
  ]);
  for (const message of messages) {
    assert.deepEqual(decodeRecovery(encodeRecovery(message)), message);
  }
  // A view without a delivered position still sends the six words, with 0.
  const noDelivered = { kind: "highest", seq: 5, epoch: "ff", lowest: 2, view: 0 } as const;
  assert.equal(decoder.decode(encodeRecovery(noDelivered)), "HIGHEST 5 ff 2 0 0");
  assert.deepEqual(recovery("HIGHEST 5 ff 2 0 0"), { ...noDelivered, delivered: 0 });
  // The older four and five-word forms.
  const old = { kind: "highest", seq: 5, epoch: "ff", lowest: 2 };
  assert.deepEqual(recovery("HIGHEST 5 ff 2"), { ...old, delivered: undefined });
  assert.deepEqual(recovery("HIGHEST 5 ff 2 4"), { ...old, delivered: 4 });
});

Deno.test("decodeRecovery() refuses malformed VIEWS, LEAVE, EVICTED and HIGHEST", () => {
  for (
    const line of [
      "VIEWS 0",
      "VIEWS",
      "VIEWS 1 2",
      "LEAVE now",
      "EVICTED x",
      "EVICTED 0",
      "EVICTED",
      "HIGHEST 5 ff 2 4 x",
      "HIGHEST 5 ff 2 x 3",
      "HIGHEST 5 ff 2 4 3 1",
    ]
  ) {
    throwsProtocolError(
      () => recovery(line),
      /expected HELLO, RETRANSMIT, VIEWS, LEAVE, .*EVICTED/,
    );
  }
});

Deno.test("formatView() writes members, then who joined and who left and why", () => {
  assert.equal(
    formatView(view(3, 1200, ["c1", "c2", "c3"], { left: [{ id: "c4", why: "timeout" }] })),
    "view 3 after 1200: members c1 c2 c3; left c4 (timeout)",
  );
  assert.equal(
    formatView(view(1, 0, ["c1", "c2"], { joined: ["c1", "c2"] })),
    "view 1 after 0: members c1 c2; joined c1 c2",
  );
  assert.equal(
    formatView(view(2, 5, [], { left: [{ id: "c1", why: "leave" }] })),
    "view 2 after 5: members -; left c1 (leave)",
  );
});

Deno.test("Membership makes view 1 of the first ids heard, then a view for one that leaves", () => {
  const group = new Membership(1000);
  assert.equal(group.current, 0);
  assert.equal(group.next(0), null, "no view without changes");
  assert.equal(group.heard("c2", 0), "joining");
  assert.equal(group.heard("c1", 0), "joining");
  assert.equal(group.heard("c1", 10), "joining", "still joining until the view");
  assert.deepEqual(group.members, []);
  assert.deepEqual(group.next(0), view(1, 0, ["c1", "c2"], { joined: ["c1", "c2"] }));
  assert.equal(group.current, 1);
  assert.deepEqual(group.members, ["c1", "c2"]);
  assert.equal(group.heard("c1", 20), "member");
  assert.equal(group.next(3), null, "no view without changes");
  group.leave("c2");
  assert.deepEqual(group.next(40), view(2, 40, ["c1"], { left: [{ id: "c2", why: "leave" }] }));
  // One that joins and leaves before a view makes none.
  group.heard("c3", 50);
  group.leave("c3");
  assert.equal(group.next(41), null);
  assert.deepEqual(group.since(2), [view(2, 40, ["c1"], { left: [{ id: "c2", why: "leave" }] })]);
  assert.deepEqual(group.since(1).map((v) => v.view), [1, 2]);
  assert.deepEqual(group.since(3), []);
});

Deno.test("Membership evicts a silent member only while another is heard, and takes it back", () => {
  const group = new Membership(1000);
  group.heard("c1", 0);
  group.heard("c2", 0);
  group.next(0);
  assert.deepEqual(
    group.suspect(5000),
    [],
    "all silent at once: the sequencer's link, not the members",
  );
  group.heard("c2", 1);
  group.heard("c1", 900);
  assert.deepEqual(group.suspect(1000), [], "c2 silent 999 ms, not yet 1000");
  assert.equal(group.next(1), null);
  assert.deepEqual(group.suspect(1001), ["c2"]);
  assert.deepEqual(group.next(7), view(2, 7, ["c1"], { left: [{ id: "c2", why: "timeout" }] }));
  assert.equal(group.evictedIn("c2"), 2);
  assert.equal(group.evictedIn("c1"), undefined);
  assert.equal(group.heard("c2", 1100), "evicted");
  assert.equal(group.evictedIn("c2"), 2, "until it joins again");
  assert.deepEqual(group.next(9), view(3, 9, ["c1", "c2"], { joined: ["c2"] }));
  assert.equal(group.evictedIn("c2"), undefined);
  assert.equal(group.heard("c2", 1200), "member");
  assert.deepEqual(group.since(2).map((v) => v.view), [2, 3]);
});

Deno.test("Membership with evictAfterMs 0 never evicts, and a lone member is never evicted", () => {
  const never = new Membership(0);
  never.heard("c1", 0);
  never.heard("c2", 1_000_000);
  never.next(0);
  assert.deepEqual(never.suspect(1_000_001), []);
  const lone = new Membership(1000);
  lone.heard("c1", 0);
  lone.next(0);
  assert.deepEqual(lone.suspect(60_000), []);
  assert.deepEqual(lone.members, ["c1"]);
});

Deno.test("ViewBook releases views in number order once their position is delivered", () => {
  const book = new ViewBook("c2");
  const v1 = view(1, 0, ["c1", "c2"], { joined: ["c1", "c2"] });
  const v2 = view(2, 10, ["c1", "c2", "c3"], { joined: ["c3"] });
  const v3 = view(3, 12, ["c2", "c3"], { left: [{ id: "c1", why: "leave" }] });
  book.add(v2);
  book.add(v1);
  assert.deepEqual(book.release(0), [v1]);
  assert.deepEqual(book.release(9), []);
  assert.deepEqual(book.release(10), [v2]);
  assert.equal(book.last, 2);
  book.add(v2);
  assert.deepEqual(book.release(100), [], "a view already released is ignored");
  const v4 = view(4, 20, ["c2"], { left: [{ id: "c3", why: "timeout" }] });
  book.add(v4);
  assert.equal(book.missing(4), 3, "v4 waits for v3");
  assert.deepEqual(book.release(100), []);
  book.add(v3);
  assert.equal(book.missing(4), null);
  assert.deepEqual(book.release(100), [v3, v4]);
  assert.equal(book.missing(4), null);
  assert.equal(book.missing(6), 5);
});

Deno.test("ViewBook passes over views without its member before the first with it", () => {
  const book = new ViewBook("c2");
  assert.equal(book.missing(0), null);
  assert.equal(book.missing(3), 3, "before joining: only the current one");
  const v3 = view(3, 5, ["c1"]);
  const v4 = view(4, 6, ["c1", "c2"], { joined: ["c2"] });
  book.add(v3);
  assert.equal(book.missing(3), null);
  assert.equal(book.missing(4), 4);
  book.add(v4);
  assert.deepEqual(book.release(6), [v4]);
  assert.equal(book.last, 4);
});

Deno.test("ViewBook releases no view without its member before its first view, nor after evicted()", () => {
  const book = new ViewBook("c2");
  book.add(view(1, 0, ["c1"], { joined: ["c1"] }));
  assert.deepEqual(book.release(10), [], "before the first view");
  const v2 = view(2, 10, ["c1", "c2"], { joined: ["c2"] });
  book.add(v2);
  assert.deepEqual(book.release(10), [v2]);
  book.evicted();
  book.add(view(3, 20, ["c1"], { left: [{ id: "c2", why: "timeout" }] }));
  assert.deepEqual(book.release(20), [], "after evicted()");
});

Deno.test("ViewBook after evicted() goes on at the first view that has its member again", () => {
  const book = new ViewBook("c2");
  const v1 = view(1, 0, ["c1", "c2"], { joined: ["c1", "c2"] });
  book.add(v1);
  assert.deepEqual(book.release(0), [v1]);
  book.evicted();
  const v3 = view(3, 20, ["c1", "c2"], { joined: ["c2"] });
  book.add(view(2, 10, ["c1"], { left: [{ id: "c2", why: "timeout" }] }));
  book.add(v3);
  assert.deepEqual(book.release(20), [v3]);
  assert.equal(book.last, 3);
});

Deno.test("ViewBook.reset() numbers views from 1 again", () => {
  const book = new ViewBook("c2");
  const v1 = view(1, 0, ["c2"], { joined: ["c2"] });
  book.add(v1);
  book.add(view(2, 0, ["c1", "c2"], { joined: ["c1"] }));
  assert.equal(book.release(0).length, 2);
  const again = view(1, 0, ["c1", "c2"], { joined: ["c1", "c2"] });
  book.add(again);
  assert.deepEqual(book.release(0), [], "view 1 again is ignored before the reset");
  book.reset();
  assert.equal(book.last, 0);
  assert.equal(book.missing(2), 2);
  book.add(again);
  assert.deepEqual(book.release(0), [again]);
  assert.equal(book.last, 1);
});

Deno.test("Membership keeps a suspect that is heard before the next view, and after a silence of everyone gives each member a whole evictAfterMs", () => {
  const group = new Membership(2000);
  for (const id of ["c1", "c2", "c3"]) group.heard(id, 0);
  group.next(0);
  group.heard("c1", 1000);
  group.heard("c2", 1900);
  assert.deepEqual(group.suspect(2000), ["c3"]);
  // c3 speaks again before the view that would evict it was made: no view, no eviction.
  assert.equal(group.heard("c3", 2010), "member");
  assert.equal(group.next(5), null);
  assert.deepEqual(group.members, ["c1", "c2", "c3"]);
  // Nobody heard for 3 s (the broker was cut): then c1 comes back first.
  assert.deepEqual(group.suspect(5010), [], "everyone silent: an outage");
  assert.equal(group.heard("c1", 5010), "member");
  group.heard("c1", 6000);
  assert.deepEqual(group.suspect(6500), [], "c2 and c3 have 2 s from the end of the outage");
  group.heard("c1", 6900);
  group.heard("c2", 6900);
  assert.deepEqual(group.suspect(7010), ["c3"]);
  assert.deepEqual(
    group.next(9),
    view(2, 9, ["c1", "c2"], { left: [{ id: "c3", why: "timeout" }] }),
  );
});

Deno.test("ViewBook starts again, once, for a sequencer started again: its views, named by their epoch, come before or after its HIGHEST alike", () => {
  const book = new ViewBook("c2");
  const old = {
    view: 1,
    after: 0,
    members: ["c1", "c2"],
    joined: ["c1", "c2"],
    left: [],
    epoch: "aa",
  };
  book.add(old);
  assert.deepEqual(book.release(0), [old]);
  // The new sequencer's view 1 comes before its first HIGHEST.
  const fresh = { view: 1, after: 50, members: ["c2"], joined: ["c2"], left: [], epoch: "bb" };
  book.add(fresh);
  book.useEpoch("bb");
  assert.deepEqual(book.release(50), [fresh]);
  assert.equal(formatView(fresh), "view 1 after 50 (sequencer bb): members c2; joined c2");
  assert.deepEqual(decodeView(encodeView(fresh).split(" ")), fresh);
});
