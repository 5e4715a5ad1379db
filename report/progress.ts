/**
 * A progress display for a training run: one line redrawn in place on a
 * terminal, plain lines (messages and one summary per epoch) anywhere else,
 * so logs stay readable.
 *
 * @module
 */

/** Where a training run stands. */
export interface ProgressState {
  /** The epoch in progress, from 1. */
  epoch: number;
  /** Epochs in the run. */
  epochs: number;
  /** Steps done in this epoch, from 0 to `steps`. */
  step: number;
  /** Steps in one epoch. */
  steps: number;
  /** Running mean of the loss over this epoch. */
  loss?: number;
  /** Training throughput. */
  samplesPerSecond?: number;
  /** Estimated time until the run ends, in seconds. */
  secondsLeft?: number;
  /** Shown first, e.g. `run 3/14` when the run is one of several. */
  label?: string;
  /** Estimated time until the whole job of several runs ends, in seconds. */
  totalSecondsLeft?: number;
}

/** How {@linkcode formatProgress} lays out its line. */
export interface FormatProgressOptions {
  /**
   * The most characters the line may have: the bar shrinks to fit, then goes,
   * then the fields go from the least useful (the whole job's time left,
   * throughput, time left, loss).
   * Default 80.
   */
  columns?: number;
  /** Whether to show the bar. Default true. */
  bar?: boolean;
}

/** The bar's width in characters when there is room. */
const MAX_BAR = 30;
/** Narrower than this, the bar says too little to be worth its brackets. */
const MIN_BAR = 5;

/**
 * Formats a duration for people: `42s`, `1m05s`, `2h03m07s`, rounded to
 * whole seconds.
 *
 * @param seconds A duration.
 * @returns Its text, or `?` when it is not a finite number ≥ 0.
 *
 * @example Durations
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatDuration(4.4), "4s");
 * equal(formatDuration(65), "1m05s");
 * equal(formatDuration(7387), "2h03m07s");
 * equal(formatDuration(Infinity), "?");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!(Number.isFinite(seconds) && seconds >= 0)) return "?";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h${two(m)}m${two(s)}s`;
  if (m > 0) return `${m}m${two(s)}s`;
  return `${s}s`;
}

/**
 * Formats one progress line, such as
 *
 * `epoch 3/10 [#########.........] step 120/234  loss 0.4123  1234 samples/s  eta 1m05s`
 *
 * The bar shows this epoch's steps; fields the state lacks are left out.
 * Pure: the same state and options give the same text.
 *
 * @param state Where the run stands.
 * @param options The width to fit and whether to show the bar.
 * @returns One line, no newline, at most `columns` characters.
 * @throws {RangeError} When the state is inconsistent (see {@linkcode ProgressState}).
 *
 * @example A line in 84 columns
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * import { equal } from "node:assert/strict";
 *
 * const state = {
 *   epoch: 3,
 *   epochs: 10,
 *   step: 120,
 *   steps: 234,
 *   loss: 0.41234,
 *   samplesPerSecond: 1234.4,
 *   secondsLeft: 65,
 * };
 * equal(
 *   formatProgress(state, { columns: 84 }),
 *   "epoch 3/10 [#########.........] step 120/234  loss 0.4123  1234 samples/s  eta 1m05s",
 * );
 * ```
 */
export function formatProgress(
  state: ProgressState,
  options: FormatProgressOptions = {},
): string {
  checkState(state, "Cannot format progress");
  const columns = options.columns ?? 80;
  if (!(columns >= 1)) {
    throw new RangeError(
      `Cannot format progress: columns must be ≥ 1, got ${columns}`,
    );
  }
  const head = `${
    state.label === undefined ? "" : `${state.label}  `
  }epoch ${state.epoch}/${state.epochs}`;
  const step = `step ${state.step}/${state.steps}`;
  // Kept in order of display; dropped from the end of `dropOrder` first when space is short.
  const fields = new Map<string, string>();
  if (state.loss !== undefined) {
    fields.set("loss", `loss ${formatLoss(state.loss)}`);
  }
  if (state.samplesPerSecond !== undefined) {
    fields.set("rate", `${formatRate(state.samplesPerSecond)} samples/s`);
  }
  if (state.secondsLeft !== undefined) {
    fields.set("eta", `eta ${formatDuration(state.secondsLeft)}`);
  }
  if (state.totalSecondsLeft !== undefined) {
    fields.set("total", `all ${formatDuration(state.totalSecondsLeft)}`);
  }
  const dropOrder = ["total", "rate", "eta", "loss"];

  const tail = () => [...fields.values()].map((f) => `  ${f}`).join("");
  if (options.bar ?? true) {
    // "head [bar] step": the brackets and two spaces take 4 columns.
    const room = Math.min(
      MAX_BAR,
      columns - head.length - step.length - tail().length - 4,
    );
    if (room >= MIN_BAR) {
      const filled = Math.floor((state.step / state.steps) * room);
      const bar = "#".repeat(filled) + ".".repeat(room - filled);
      return `${head} [${bar}] ${step}${tail()}`;
    }
  }
  let line = `${head}  ${step}${tail()}`;
  for (const key of dropOrder) {
    if (line.length <= columns) break;
    fields.delete(key);
    line = `${head}  ${step}${tail()}`;
  }
  return line.slice(0, columns);
}

/** Losses print with 4 decimals, and in exponent form where those would say nothing. */
function formatLoss(loss: number): string {
  const size = Math.abs(loss);
  if (!Number.isFinite(loss)) return String(loss);
  if ((size < 1e-3 && size !== 0) || size >= 1e6) return loss.toExponential(2);
  return loss.toFixed(4);
}

/** Whole samples per second, with one decimal below 100 where it still matters. */
function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return String(rate);
  return rate < 100 ? rate.toFixed(1) : String(Math.round(rate));
}

function checkState(state: ProgressState, where: string): void {
  const { epoch, epochs, step, steps } = state;
  if (!(Number.isInteger(epochs) && epochs >= 1)) {
    throw new RangeError(
      `${where}: epochs must be an integer ≥ 1, got ${epochs}`,
    );
  }
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new RangeError(
      `${where}: steps must be an integer ≥ 1, got ${steps}`,
    );
  }
  if (!(Number.isInteger(epoch) && epoch >= 1 && epoch <= epochs)) {
    throw new RangeError(
      `${where}: epoch must be an integer in [1, ${epochs}], got ${epoch}`,
    );
  }
  if (!(Number.isInteger(step) && step >= 0 && step <= steps)) {
    throw new RangeError(
      `${where}: step must be an integer in [0, ${steps}], got ${step}`,
    );
  }
}

/** A sink that takes bytes; `write` may take only some of them and say how many. */
export interface ByteSink {
  /** Writes (some of) `bytes`, returning how many were written. */
  write(bytes: Uint8Array): Promise<number> | number;
  /** Whether the sink is a terminal, as `Deno.stderr` has it. */
  isTerminal?(): boolean;
}

/** Where a {@linkcode Progress} writes: a byte stream or a writer like `Deno.stderr`. */
export type ProgressSink = WritableStream<Uint8Array> | ByteSink;

/** How a {@linkcode Progress} writes. */
export interface ProgressOptions {
  /** Where to write. Default: standard error, written synchronously so it interleaves with other output. */
  sink?: ProgressSink;
  /**
   * Whether to redraw one line in place. Default: the sink's own
   * `isTerminal()`, false for a sink without one.
   */
  isTerminal?: boolean;
  /** Width of the terminal line. Default: the console's width, or 80. */
  columns?: number;
  /** Clock in milliseconds, for throttling and the time-left estimate. Default `performance.now`. */
  now?: () => number;
  /** Least time between two redraws on a terminal, in milliseconds. Default 100. */
  intervalMs?: number;
}

const ENCODER = new TextEncoder();
/** Carriage return, then erase the whole line. */
const CLEAR = "\r\x1b[2K";

/**
 * Shows a training run's progress. On a terminal it redraws one line in
 * place at most every `intervalMs`, leaves each finished epoch's line in
 * place, and prints messages above the line. Elsewhere (a file, a pipe) it
 * writes plain lines without control characters: one per message and one
 * summary per epoch, never one per step. Without `secondsLeft` in a state,
 * the time left is estimated from the clock and the steps done since the
 * first update.
 *
 * Writes are queued in order; {@linkcode Progress.done} waits for them and
 * reports a failed write.
 *
 * @example Plain lines into a stream
 * ```ts
 * import { Progress } from "./progress.ts";
 * import { equal } from "node:assert/strict";
 *
 * const chunks: Uint8Array[] = [];
 * const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
 * const progress = new Progress({ sink, isTerminal: false });
 * for (let step = 1; step <= 4; step++) {
 *   progress.update({ epoch: 1, epochs: 1, step, steps: 4, loss: 1 / step, secondsLeft: 4 - step });
 * }
 * progress.log("epoch 1: test accuracy 88.1%");
 * await progress.done();
 * const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
 * equal(text, "epoch 1/1  step 4/4  loss 0.2500  eta 0s\nepoch 1: test accuracy 88.1%\n");
 * ```
 */
export class Progress {
  readonly #write: (bytes: Uint8Array) => Promise<number> | number;
  readonly #release: () => void;
  readonly #terminal: boolean;
  readonly #columns: () => number;
  readonly #now: () => number;
  readonly #intervalMs: number;
  /** The latest state of the epoch in progress, not yet summarized. */
  #current: ProgressState | undefined;
  /** The epoch whose summary was written; later updates for it are dropped. */
  #summarized = 0;
  /** Whether the terminal line now shows `#current` without a newline. */
  #drawn = false;
  #lastDraw = -Infinity;
  /** Clock and global step of the first update, for the time-left estimate. */
  #start: { time: number; step: number } | undefined;
  #pending: Promise<void> | undefined;
  #error: unknown;
  #done = false;

  /**
   * Creates a progress display.
   *
   * @param options Sink, terminal mode, width, clock and redraw interval.
   * @throws {Error} Outside Deno without a `sink`.
   */
  constructor(options: ProgressOptions = {}) {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    let sink = options.sink;
    if (sink === undefined) {
      if (deno === undefined) {
        throw new Error(
          "Cannot create progress display: sink must be given outside Deno, got none",
        );
      }
      sink = {
        write: (bytes) => deno.stderr.writeSync(bytes),
        isTerminal: () => deno.stderr.isTerminal(),
      };
    }
    if ("getWriter" in sink) {
      const writer = sink.getWriter();
      this.#write = (bytes) => writer.write(bytes).then(() => bytes.length);
      this.#release = () => writer.releaseLock();
    } else {
      const byteSink = sink;
      this.#write = (bytes) => byteSink.write(bytes);
      this.#release = () => {};
    }
    this.#terminal = options.isTerminal ??
      ("isTerminal" in sink && typeof sink.isTerminal === "function"
        ? sink.isTerminal()
        : false);
    const intervalMs = options.intervalMs ?? 100;
    if (!(intervalMs >= 0)) {
      throw new RangeError(
        `Cannot create progress display: intervalMs must be ≥ 0, got ${intervalMs}`,
      );
    }
    this.#intervalMs = intervalMs;
    const columns = options.columns;
    if (columns !== undefined && !(Number.isInteger(columns) && columns >= 2)) {
      throw new RangeError(
        `Cannot create progress display: columns must be an integer ≥ 2, got ${columns}`,
      );
    }
    this.#columns = () => columns ?? consoleColumns(deno);
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Records where the run stands. On a terminal the line is redrawn if the
   * last redraw is at least `intervalMs` old; the epoch's last step (or the
   * first update of a later epoch) writes the epoch's summary in both modes.
   *
   * @param state Where the run stands.
   * @throws {RangeError} When the state is inconsistent.
   * @throws {Error} After {@linkcode Progress.done}.
   */
  update(state: ProgressState): void {
    this.#checkOpen("update");
    checkState(state, "Cannot update progress");
    if (state.epoch === this.#summarized) return;
    if (this.#current !== undefined && this.#current.epoch !== state.epoch) {
      this.#summarize();
    }
    const time = this.#now();
    this.#current = this.#withTimeLeft(state, time);
    if (state.step >= state.steps) {
      this.#summarize();
    } else if (this.#terminal && time - this.#lastDraw >= this.#intervalMs) {
      this.#draw(time);
    }
  }

  /**
   * Writes a message on its own line (on a terminal: above the progress
   * line, which is redrawn under it).
   *
   * @param line The message, without a newline.
   * @throws {Error} After {@linkcode Progress.done}.
   */
  log(line: string): void {
    this.#checkOpen("log");
    if (!this.#terminal) {
      this.#emit(`${line}\n`);
      return;
    }
    this.#emit(`${CLEAR}${line}\n`);
    if (this.#drawn) this.#draw(this.#now());
  }

  /**
   * Writes the unfinished epoch's summary, if any, and waits until every
   * write has reached the sink. A stream's writer lock is released; the
   * stream stays open.
   *
   * @returns When all is written.
   * @throws {Error} When a write failed (the sink's error is the `cause`).
   */
  async done(): Promise<void> {
    if (!this.#done) {
      this.#summarize();
      this.#done = true;
    }
    while (this.#pending !== undefined) await this.#pending;
    this.#release();
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      throw new Error(
        `Cannot write progress: ${(error as Error)?.message ?? error}`,
        { cause: error },
      );
    }
  }

  #checkOpen(what: string): void {
    if (this.#done) {
      throw new Error(
        `Cannot ${what} progress: the display must be open, got one after done()`,
      );
    }
  }

  /** The state with a time-left estimate from the clock when it has none. */
  #withTimeLeft(state: ProgressState, time: number): ProgressState {
    const global = (state.epoch - 1) * state.steps + state.step;
    this.#start ??= { time, step: global };
    // No steps or no time since the start says nothing about the pace yet.
    if (
      state.secondsLeft !== undefined || global <= this.#start.step ||
      time <= this.#start.time
    ) {
      return state;
    }
    const perStep = (time - this.#start.time) / 1000 /
      (global - this.#start.step);
    return {
      ...state,
      secondsLeft: perStep * (state.epochs * state.steps - global),
    };
  }

  #draw(time: number): void {
    const line = formatProgress(this.#current!, {
      columns: this.#columns() - 1,
    });
    this.#emit(`${CLEAR}${line}`);
    this.#drawn = true;
    this.#lastDraw = time;
  }

  /** Writes the current epoch's last state as a line of its own. */
  #summarize(): void {
    const state = this.#current;
    if (state === undefined) return;
    this.#emit(
      this.#terminal
        ? `${CLEAR}${formatProgress(state, { columns: this.#columns() - 1 })}\n`
        : `${formatProgress(state, { bar: false, columns: Infinity })}\n`,
    );
    this.#summarized = state.epoch;
    this.#current = undefined;
    this.#drawn = false;
    this.#lastDraw = -Infinity;
  }

  /** Queues `text` behind earlier writes; a synchronous sink is written at once when nothing waits. */
  #emit(text: string): void {
    if (this.#error !== undefined) return;
    const bytes = ENCODER.encode(text);
    if (this.#pending !== undefined) {
      this.#track(this.#pending.then(() => this.#writeAll(bytes)));
      return;
    }
    try {
      const pending = this.#writeAll(bytes);
      if (pending !== undefined) this.#track(pending);
    } catch (error) {
      this.#error = error;
    }
  }

  #track(promise: Promise<void>): void {
    const tracked: Promise<void> = promise
      .catch((error) => {
        this.#error ??= error;
      })
      .then(() => {
        if (this.#pending === tracked) this.#pending = undefined;
      });
    this.#pending = tracked;
  }

  /** Writes all of `bytes`; returns a promise only once the sink answers with one. */
  #writeAll(bytes: Uint8Array): Promise<void> | undefined {
    let offset = 0;
    while (offset < bytes.length) {
      const written = this.#write(bytes.subarray(offset));
      if (typeof written !== "number") {
        return written.then((n) =>
          this.#writeAll(bytes.subarray(offset + checkWritten(n)))
        );
      }
      offset += checkWritten(written);
    }
    return undefined;
  }
}

/** A sink that reports writing nothing would make `#writeAll` loop forever. */
function checkWritten(n: number): number {
  if (!(n > 0)) throw new Error(`sink wrote ${n} bytes`);
  return n;
}

/** The console's width, or 80 where it has none worth using. */
function consoleColumns(deno: typeof Deno | undefined): number {
  try {
    const columns = deno?.consoleSize().columns ?? 80;
    // A pseudo-terminal without a size reports 0 columns.
    return columns >= 20 ? columns : 80;
  } catch {
    // Standard output is not a terminal (redirected while standard error is).
    return 80;
  }
}
