import assert from "node:assert/strict";
import { findCycles } from "../tasks/check_imports.ts";

Deno.test("findCycles() finds each cycle of an import graph, and none in a tree", () => {
  const tree = new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]);
  assert.deepEqual(findCycles(tree), []);
  const cyclic = new Map([["mod", ["ffi", "roles"]], ["ffi", []], ["roles", ["mod"]]]);
  assert.deepEqual(findCycles(cyclic), [["mod", "roles", "mod"]]);
  assert.deepEqual(findCycles(new Map([["self", ["self"]]])), [["self", "self"]]);
});
