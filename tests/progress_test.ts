import { equal, ok, rejects, throws } from "node:assert/strict";
import {
  type ByteSink,
  formatDuration,
  formatProgress,
  Progress,
  type ProgressState,
} from "../report/progress.ts";

const CLEAR = "\r\x1b[2K";

/** A synchronous sink that keeps each write as text. */
class Recorder implements ByteSink {
  chunks: string[] = [];
  write(bytes: Uint8Array): number {
    this.chunks.push(new TextDecoder().decode(bytes));
    return bytes.length;
  }
  get text(): string {
    return this.chunks.join("");
  }
}

/** A clock the test moves by hand, in milliseconds. */
function manualClock(): { now: () => number; set: (ms: number) => void } {
  let time = 0;
  return { now: () => time, set: (ms) => void (time = ms) };
}

/** Whether `text` has a control character other than a newline (such as \r or ESC). */
function hasControlCharacters(text: string): boolean {
  return [...text].some((c) =>
    c !== "\n" && (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)
  );
}

const example: ProgressState = {
  epoch: 3,
  epochs: 10,
  step: 120,
  steps: 234,
  loss: 0.41234,
  samplesPerSecond: 1234.4,
  secondsLeft: 65,
};

Deno.test("formatDuration: seconds, minutes and hours, rounded to whole seconds", () => {
  equal(formatDuration(0), "0s");
  equal(formatDuration(59.4), "59s");
  equal(formatDuration(59.6), "1m00s");
  equal(formatDuration(65), "1m05s");
  equal(formatDuration(600), "10m00s");
  equal(formatDuration(3599.4), "59m59s");
  equal(formatDuration(3600), "1h00m00s");
  equal(formatDuration(7387), "2h03m07s");
  equal(formatDuration(100000), "27h46m40s");
  equal(formatDuration(-1), "?");
  equal(formatDuration(NaN), "?");
  equal(formatDuration(Infinity), "?");
});

Deno.test("formatProgress: every field, the bar filling the columns left", () => {
  // 66 characters besides the bar; 84 columns leave 18: 120/234 of 18 is 9.2, so 9 filled.
  equal(
    formatProgress(example, { columns: 84 }),
    "epoch 3/10 [#########.........] step 120/234  loss 0.4123  1234 samples/s  eta 1m05s",
  );
  // 80 columns by default: a 14-wide bar, 120/234 of 14 is 7.2.
  equal(
    formatProgress(example),
    "epoch 3/10 [#######.......] step 120/234  loss 0.4123  1234 samples/s  eta 1m05s",
  );
  equal(formatProgress(example).length, 80);
  // The bar never grows past 30.
  equal(
    formatProgress(example, { columns: 200 }),
    "epoch 3/10 [###############...............] step 120/234  loss 0.4123  1234 samples/s  eta 1m05s",
  );
});

Deno.test("formatProgress: only the fields given; empty and full bars", () => {
  equal(
    formatProgress({ epoch: 1, epochs: 2, step: 0, steps: 10 }, {
      columns: 40,
    }),
    "epoch 1/2 [..................] step 0/10",
  );
  equal(
    // 37 characters besides the bar: 42 columns leave room for the smallest, 5 wide.
    formatProgress({ epoch: 2, epochs: 2, step: 10, steps: 10, loss: 2.5e-5 }, {
      columns: 42,
    }),
    "epoch 2/2 [#####] step 10/10  loss 2.50e-5",
  );
  equal(
    formatProgress({
      epoch: 1,
      epochs: 1,
      step: 5,
      steps: 10,
      loss: NaN,
      samplesPerSecond: 12.34,
    }, {
      columns: 100,
    }),
    "epoch 1/1 [###############...............] step 5/10  loss NaN  12.3 samples/s",
  );
  equal(
    formatProgress(example, { bar: false }),
    "epoch 3/10  step 120/234  loss 0.4123  1234 samples/s  eta 1m05s",
  );
});

Deno.test("formatProgress: narrow lines lose the bar, then throughput, time left and loss, then are cut", () => {
  equal(
    formatProgress(example, { columns: 60 }),
    "epoch 3/10  step 120/234  loss 0.4123  eta 1m05s",
  );
  equal(
    formatProgress(example, { columns: 40 }),
    "epoch 3/10  step 120/234  loss 0.4123",
  );
  equal(formatProgress(example, { columns: 30 }), "epoch 3/10  step 120/234");
  equal(formatProgress(example, { columns: 10 }), "epoch 3/10");
  // The smallest bar (5 wide) still fits in 71 columns, not in 70.
  equal(formatProgress(example, { columns: 71 }).includes("[##..."), true);
  equal(formatProgress(example, { columns: 70 }).includes("["), false);
});

Deno.test("formatProgress: inconsistent states throw", () => {
  const state = { epoch: 1, epochs: 2, step: 0, steps: 10 };
  throws(
    () => formatProgress({ ...state, step: 11 }),
    /Cannot format progress: step must be an integer in \[0, 10\], got 11/,
  );
  throws(
    () => formatProgress({ ...state, epoch: 0 }),
    /epoch must be an integer in \[1, 2\], got 0/,
  );
  throws(
    () => formatProgress({ ...state, epoch: 3 }),
    /epoch must be an integer in \[1, 2\], got 3/,
  );
  throws(
    () => formatProgress({ ...state, steps: 0 }),
    /steps must be an integer ≥ 1, got 0/,
  );
  throws(
    () => formatProgress({ ...state, epochs: 1.5 }),
    /epochs must be an integer ≥ 1, got 1.5/,
  );
  throws(
    () => formatProgress(state, { columns: 0 }),
    /columns must be ≥ 1, got 0/,
  );
});

Deno.test("Progress on a terminal: redraws one line at most every 100 ms, then keeps the epoch's line", async () => {
  const sink = new Recorder();
  const clock = manualClock();
  const progress = new Progress({
    sink,
    isTerminal: true,
    columns: 81,
    now: clock.now,
  });
  // Step 1 draws; 2-4 come within 100 ms of it; 5 is 100 ms later; 7 is 110 ms after 5.
  const times = [0, 30, 60, 90, 100, 150, 210, 220, 230, 240];
  times.forEach((ms, i) => {
    clock.set(ms);
    progress.update({
      epoch: 1,
      epochs: 2,
      step: i + 1,
      steps: 10,
      loss: 1,
      secondsLeft: 5,
    });
  });
  equal(sink.chunks.length, 4);
  for (const chunk of sink.chunks) {
    ok(chunk.startsWith(CLEAR), JSON.stringify(chunk));
  }
  ["step 1/10", "step 5/10", "step 7/10", "step 10/10"].forEach((s, i) =>
    ok(sink.chunks[i].includes(s))
  );
  // Lines fit in one column less than the terminal, so it never wraps.
  for (const chunk of sink.chunks) {
    ok(chunk.replace(CLEAR, "").trimEnd().length <= 80);
  }
  // Only the finished epoch's line ends with a newline, and its bar is full.
  ok(sink.chunks.slice(0, 3).every((c) => !c.includes("\n")));
  ok(sink.chunks[3].endsWith("\n"));
  ok(/\[#+\]/.test(sink.chunks[3]));

  // The next epoch draws at once, however soon.
  clock.set(241);
  progress.update({ epoch: 2, epochs: 2, step: 1, steps: 10 });
  equal(sink.chunks.length, 5);
  ok(sink.chunks[4].startsWith(CLEAR) && sink.chunks[4].includes("epoch 2/2"));
  await progress.done();
  // done() leaves the unfinished epoch's line in place.
  equal(sink.chunks.length, 6);
  ok(
    sink.chunks[5].startsWith(CLEAR) && sink.chunks[5].includes("step 1/10") &&
      sink.chunks[5].endsWith("\n"),
  );
  throws(
    () => progress.update({ epoch: 2, epochs: 2, step: 2, steps: 10 }),
    /Cannot update progress: the display must be open/,
  );
  throws(() => progress.log("late"), /Cannot log progress/);
});

Deno.test("Progress on a terminal: messages go above the line, which is redrawn", async () => {
  const sink = new Recorder();
  const clock = manualClock();
  const progress = new Progress({
    sink,
    isTerminal: true,
    columns: 100,
    now: clock.now,
  });
  progress.log("starting");
  equal(sink.text, `${CLEAR}starting\n`);
  progress.update({ epoch: 1, epochs: 1, step: 3, steps: 10 });
  clock.set(10);
  progress.log("epoch 0: test accuracy 10.0%");
  equal(sink.chunks.length, 4);
  equal(sink.chunks[2], `${CLEAR}epoch 0: test accuracy 10.0%\n`);
  equal(sink.chunks[3], sink.chunks[1]);
  await progress.done();
});

Deno.test("Progress: without secondsLeft, the time left comes from the clock", async () => {
  const sink = new Recorder();
  const clock = manualClock();
  const progress = new Progress({
    sink,
    isTerminal: true,
    columns: 120,
    now: clock.now,
    intervalMs: 0,
  });
  // One step per second from step 0: at step 5 of 2 × 10, 15 steps and so 15 s are left.
  for (let step = 0; step <= 5; step++) {
    clock.set(step * 1000);
    progress.update({ epoch: 1, epochs: 2, step, steps: 10 });
  }
  ok(!sink.chunks[0].includes("eta"));
  ok(sink.chunks.at(-1)!.endsWith("step 5/10  eta 15s"), sink.chunks.at(-1));
  // Steps going twice as fast from here: 14 steps in 6 s since the start.
  clock.set(6000);
  progress.update({ epoch: 1, epochs: 2, step: 6, steps: 10 });
  ok(sink.chunks.at(-1)!.endsWith("step 6/10  eta 14s"), sink.chunks.at(-1));
  await progress.done();
});

Deno.test("Progress off a terminal: plain lines, one per message and one per epoch, none per step", async () => {
  const sink = new Recorder();
  const clock = manualClock();
  const progress = new Progress({ sink, isTerminal: false, now: clock.now });
  for (let epoch = 1; epoch <= 3; epoch++) {
    for (let step = 1; step <= 100; step++) {
      clock.set(((epoch - 1) * 100 + step) * 10);
      progress.update({
        epoch,
        epochs: 3,
        step,
        steps: 100,
        loss: 1 / (epoch * step),
        samplesPerSecond: 6400,
        secondsLeft: (300 - (epoch - 1) * 100 - step) / 100,
      });
    }
    progress.log(`epoch ${epoch}: test accuracy ${80 + epoch}.0%`);
  }
  await progress.done();
  ok(!hasControlCharacters(sink.text), JSON.stringify(sink.text));
  equal(
    sink.text,
    [
      "epoch 1/3  step 100/100  loss 0.0100  6400 samples/s  eta 2s",
      "epoch 1: test accuracy 81.0%",
      "epoch 2/3  step 100/100  loss 0.0050  6400 samples/s  eta 1s",
      "epoch 2: test accuracy 82.0%",
      "epoch 3/3  step 100/100  loss 0.0033  6400 samples/s  eta 0s",
      "epoch 3: test accuracy 83.0%",
      "",
    ].join("\n"),
  );
});

Deno.test("Progress off a terminal: an epoch that ends short is summed up when the next begins, or at done()", async () => {
  const sink = new Recorder();
  // A clock that stands still gives no time-left estimate.
  const progress = new Progress({ sink, isTerminal: false, now: () => 0 });
  progress.update({ epoch: 1, epochs: 2, step: 7, steps: 10, loss: 0.5 });
  equal(sink.text, "");
  progress.update({ epoch: 2, epochs: 2, step: 1, steps: 10, loss: 0.4 });
  equal(sink.text, "epoch 1/2  step 7/10  loss 0.5000\n");
  // Epoch 1 is summed up; a late update for it is dropped.
  progress.update({ epoch: 1, epochs: 2, step: 10, steps: 10, loss: 0.5 });
  progress.update({ epoch: 2, epochs: 2, step: 4, steps: 10, loss: 0.3 });
  await progress.done();
  equal(
    sink.text,
    "epoch 1/2  step 7/10  loss 0.5000\nepoch 2/2  step 4/10  loss 0.3000\n",
  );
  // A second done() writes nothing more.
  await progress.done();
  equal(sink.chunks.length, 2);
});

Deno.test("Progress: asynchronous and partial writes arrive whole and in order", async () => {
  const received: number[] = [];
  // Takes at most 3 bytes per write, answering later.
  const slow: ByteSink = {
    write: async (bytes) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const n = Math.min(3, bytes.length);
      received.push(...bytes.subarray(0, n));
      return n;
    },
  };
  const progress = new Progress({ sink: slow, isTerminal: false });
  for (let i = 0; i < 5; i++) progress.log(`message ${i}`);
  await progress.done();
  equal(
    new TextDecoder().decode(new Uint8Array(received)),
    [0, 1, 2, 3, 4].map((i) => `message ${i}\n`).join(""),
  );

  const chunks: string[] = [];
  const stream = new WritableStream<Uint8Array>({
    write: async (chunk) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      chunks.push(new TextDecoder().decode(chunk));
    },
  });
  const streamed = new Progress({ sink: stream, isTerminal: false });
  streamed.log("a");
  streamed.log("b");
  await streamed.done();
  equal(chunks.join(""), "a\nb\n");
  // The writer's lock is released, so the caller can close the stream.
  await stream.close();
});

Deno.test("Progress: a failed write is reported by done()", async () => {
  const broken: ByteSink = {
    write: () => {
      throw new Error("broken pipe");
    },
  };
  const progress = new Progress({ sink: broken, isTerminal: false });
  progress.log("lost");
  await rejects(progress.done(), /Cannot write progress: broken pipe/);

  const rejecting: ByteSink = {
    write: () => Promise.reject(new Error("disk full")),
  };
  const later = new Progress({ sink: rejecting, isTerminal: false });
  later.log("lost");
  await rejects(later.done(), /Cannot write progress: disk full/);
});

Deno.test("Progress: terminal mode defaults to the sink's own isTerminal()", async () => {
  const terminal = Object.assign(new Recorder(), { isTerminal: () => true });
  const onTerminal = new Progress({
    sink: terminal,
    columns: 80,
    now: () => 0,
  });
  onTerminal.log("x");
  await onTerminal.done();
  equal(terminal.text, `${CLEAR}x\n`);
  ok(hasControlCharacters(terminal.text));

  const plain = new Recorder();
  const offTerminal = new Progress({ sink: plain });
  offTerminal.log("x");
  await offTerminal.done();
  equal(plain.text, "x\n");

  throws(
    () => new Progress({ sink: plain, columns: 1 }),
    /columns must be an integer ≥ 2, got 1/,
  );
  throws(
    () => new Progress({ sink: plain, intervalMs: -1 }),
    /intervalMs must be ≥ 0, got -1/,
  );
});
