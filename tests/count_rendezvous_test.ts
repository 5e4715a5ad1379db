import { deepEqual, equal } from "node:assert/strict";
import { CountRendezvous } from "../src/parallel/count_rendezvous.ts";

/** A promise with a way to see, synchronously, whether it has settled. */
function watch(promise: Promise<number>): { value: number | undefined } {
  const seen: { value: number | undefined } = { value: undefined };
  promise.then((v) => seen.value = v);
  return seen;
}

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("CountRendezvous: interleaved steps and slots of 3 replicas resolve separately", async () => {
  const meet = new CountRendezvous(3);
  const [r0, r1, r2] = [0, 1, 2].map((k) => meet.exchangeFor(k));
  // Three meetings, entered in an interleaved order.
  const a0 = watch(r0(0, 0, 1));
  const b1 = watch(r1(0, 1, 20));
  const c2 = watch(r2(1, 0, 300));
  const a1 = watch(r1(0, 0, 2));
  const b0 = watch(r0(0, 1, 10));
  const c0 = watch(r0(1, 0, 100));
  await settle();
  for (const w of [a0, b1, c2, a1, b0, c0]) equal(w.value, undefined);

  // Only the meeting that is complete resolves.
  const b2 = watch(r2(0, 1, 30));
  await settle();
  deepEqual([b0.value, b1.value, b2.value], [60, 60, 60]);
  for (const w of [a0, a1, c0, c2]) equal(w.value, undefined);

  const c1 = watch(r1(1, 0, 200));
  await settle();
  deepEqual([c0.value, c1.value, c2.value], [600, 600, 600]);
  for (const w of [a0, a1]) equal(w.value, undefined);

  const a2 = watch(r2(0, 0, 3));
  await settle();
  deepEqual([a0.value, a1.value, a2.value], [6, 6, 6]);
});

Deno.test("CountRendezvous: counts are summed in replica order, whatever the arrival order", async () => {
  // In float64, (1e16 + 1) - 1e16 is 0 but (-1e16 + 1e16) + 1 is 1: the order shows.
  const counts = [1e16, 1, -1e16];
  const inOrder = counts.reduce((a, b) => a + b, 0);
  equal(inOrder, 0);
  for (const arrival of [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]]) {
    const meet = new CountRendezvous(3);
    const pending = arrival.map((k) => meet.exchangeFor(k)(4, 2, counts[k]));
    deepEqual(
      await Promise.all(pending),
      [inOrder, inOrder, inOrder],
      `${arrival}`,
    );
  }
});

Deno.test("CountRendezvous: a finished meeting's step and slot can meet again", async () => {
  const meet = new CountRendezvous(2);
  const first = await Promise.all([
    meet.exchangeFor(0)(0, 0, 1),
    meet.exchangeFor(1)(0, 0, 2),
  ]);
  const again = await Promise.all([
    meet.exchangeFor(1)(0, 0, 5),
    meet.exchangeFor(0)(0, 0, 7),
  ]);
  deepEqual([first, again], [[3, 3], [12, 12]]);
});

Deno.test("CountRendezvous: a single replica gets its own count at once", async () => {
  const meet = new CountRendezvous(1);
  equal(await meet.exchangeFor(0)(9, 3, 42.5), 42.5);
});
