/**
 * The demo page: reads the controls (or the address's query), trains on
 * workers through {@linkcode runDemo}, and draws the run as it goes. The
 * run's state is also `globalThis.jumpoutDemo`, for scripts that drive the
 * page.
 *
 * @module
 */

import { CLASS_NAMES } from "../mod.ts";
import { accuracyChart, lossChart } from "./charts.ts";
import { type DemoState, idleState } from "./demo_state.ts";
import { IMAGE_SIDE, imageRgba } from "./pixels.ts";
import {
  defaultSettings,
  type DemoBackend,
  type DemoSettings,
  settingsFromQuery,
  settingsProblem,
} from "./settings.ts";
import {
  type DemoData,
  loadDemoData,
  oneOfEachClass,
  runDemo,
} from "./training.ts";

const $ = <T extends HTMLElement>(id: string): T =>
  document.getElementById(id) as T;

const form = $<HTMLFormElement>("controls");
const backendSelect = $<HTMLSelectElement>("backend");
const stepsInput = $<HTMLInputElement>("steps");
const batchInput = $<HTMLInputElement>("batch");
const workersInput = $<HTMLInputElement>("workers");
const startButton = $<HTMLButtonElement>("start");
const problemsText = $("settings-problems");

const isolated = globalThis.crossOriginIsolated === true;
const { settings: initial, problems } = settingsFromQuery(
  location.search,
  defaultSettings(navigator.hardwareConcurrency ?? 1),
);
let state = idleState(initial, isolated);
globalThis.jumpoutDemo = state;
let controller: AbortController | undefined;
let data: Promise<DemoData> | undefined;
/** The rows `data` holds, to reload when a run asks for others. */
let dataRows = "";
let gpuAdapter = false;

showSettings(initial);
problemsText.textContent = problems.join("; ");
render();
// The test images show while the page waits for Start; a failure to load
// is reported by the run that needs the data.
dataFor(initial).then((loaded) => {
  if (state.status === "idle") drawGrid(loaded);
}, () => {});

const webgpuNote = $("webgpu-note");
const webgpuOption = backendSelect.querySelector<HTMLOptionElement>(
  'option[value="webgpu"]',
)!;
probeWebGpu().then((note) => {
  webgpuNote.textContent = note;
  webgpuOption.disabled = !gpuAdapter;
  // A disabled option cannot stay chosen; a run that asked for it fails
  // below with the reason.
  if (!gpuAdapter && backendSelect.value === "webgpu") {
    backendSelect.value = "wasm";
    workersInput.value = String(
      defaultSettings(navigator.hardwareConcurrency ?? 1).workers,
    );
  }
  startButton.disabled = false;
  if (initial.autostart) start(initial);
});

backendSelect.addEventListener("change", () => {
  // Replicas on one GPU only contend for it; CPUs gain from more workers.
  workersInput.value = String(
    backendSelect.value === "webgpu"
      ? 1
      : defaultSettings(navigator.hardwareConcurrency ?? 1).workers,
  );
});
stepsInput.addEventListener("input", showEpochs);
batchInput.addEventListener("input", showEpochs);

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (controller !== undefined) {
    controller.abort();
    startButton.disabled = true;
    startButton.textContent = "Stopping…";
    return;
  }
  start({
    ...state.settings,
    backend: backendSelect.value as DemoBackend,
    steps: stepsInput.valueAsNumber,
    batchSize: batchInput.valueAsNumber,
    workers: workersInput.valueAsNumber,
  });
});

/** Starts a run with these settings, unless they cannot work. */
async function start(settings: DemoSettings): Promise<void> {
  const problem = settings.backend === "webgpu" && !gpuAdapter
    ? "Cannot start training: backend webgpu needs a WebGPU adapter, got none in this browser"
    : settingsProblem(settings);
  if (problem !== undefined) {
    problemsText.textContent = problem;
    if (settings.autostart) {
      state = { ...idleState(settings, isolated), status: "error" };
      state.error = problem;
      state.phase = "Not started";
      globalThis.jumpoutDemo = state;
      render();
    }
    return;
  }
  problemsText.textContent = "";
  controller = new AbortController();
  state = idleState(settings, isolated);
  state.status = "training";
  state.phase = "Loading Fashion-MNIST";
  globalThis.jumpoutDemo = state;
  showRunning(true);
  render();
  try {
    const loaded = await dataFor(settings);
    drawGrid(loaded);
    await runDemo(state, loaded, controller.signal, render);
  } catch (error) {
    // Only loading can throw here: runDemo reports its own failures.
    state.status = "error";
    state.error = error instanceof Error ? error.message : String(error);
    state.phase = "Failed";
    console.error(error);
  }
  controller = undefined;
  showRunning(false);
  render();
}

/** The rows a run trains and tests on, loaded once; a failed load is retried. */
function dataFor(settings: DemoSettings): Promise<DemoData> {
  const rows = `${settings.trainRows}/${settings.testRows}`;
  if (data === undefined || rows !== dataRows) {
    dataRows = rows;
    const loading = loadDemoData(settings.trainRows, settings.testRows);
    data = loading;
    loading.catch(() => {
      if (data === loading) data = undefined;
    });
  }
  return data;
}

/** Says whether WebGPU can run here, and remembers it. */
async function probeWebGpu(): Promise<string> {
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  gpuAdapter = adapter !== null && adapter !== undefined;
  if (!navigator.gpu) return "WebGPU: not offered by this browser";
  if (!adapter) return "WebGPU: no adapter found";
  return adapter.info.isFallbackAdapter
    ? "WebGPU: software adapter (slow)"
    : "WebGPU: adapter found";
}

/** Puts settings into the controls. */
function showSettings(settings: DemoSettings): void {
  backendSelect.value = settings.backend;
  stepsInput.value = String(settings.steps);
  batchInput.value = String(settings.batchSize);
  workersInput.value = String(settings.workers);
  showEpochs();
}

/** How many passes over the training rows the chosen steps make. */
function showEpochs(): void {
  const epochs = stepsInput.valueAsNumber * batchInput.valueAsNumber /
    state.settings.trainRows;
  $("epochs-note").textContent = Number.isFinite(epochs)
    ? `${
      epochs.toFixed(epochs < 10 ? 2 : 0)
    } epochs of ${state.settings.trainRows} images`
    : "";
}

/** Locks the controls while a run goes, and turns Start into Stop. */
function showRunning(running: boolean): void {
  for (const input of [backendSelect, stepsInput, batchInput, workersInput]) {
    input.disabled = running;
  }
  startButton.disabled = false;
  startButton.dataset.running = String(running);
  startButton.textContent = running ? "Stop" : "Start";
}

/** The transport as words. */
function transportText(transport: string | undefined): string {
  switch (transport) {
    case "shared":
      return "shared memory";
    case "transfer":
      return "transferred buffers";
    case "none":
      return "nothing (one replica)";
    default:
      return isolated
        ? "shared memory (page isolated)"
        : "transferred buffers (page not isolated)";
  }
}

/** Draws the state. */
function render(): void {
  const s = state;
  $("phase").textContent = s.phase;
  // A run refused for its settings says why once, under the controls.
  const refused = s.error === problemsText.textContent;
  $("run-error").textContent = s.status === "error" && !refused
    ? s.error ?? ""
    : "";
  $("backend-used").textContent = s.backend ?? s.settings.backend;
  $("workers-used").textContent = String(s.workers ?? s.settings.workers);
  $("transport").textContent = transportText(s.transport);
  const accuracy = s.testAccuracies.at(-1);
  $("test-accuracy").textContent = accuracy === undefined
    ? "–"
    : `${(accuracy * 100).toFixed(1)}\u00a0%`;
  const seconds = s.elapsedMs / 1000;
  $("elapsed").textContent = seconds > 0
    ? `${seconds.toFixed(1)} s, ${(s.steps / seconds).toFixed(1)} steps/s`
    : "–";
  $("loss-chart").innerHTML = lossChart(s);
  $("accuracy-chart").innerHTML = accuracyChart(s);
  renderTable(s);
  renderPredictions(s);
}

/** Fills the Jumpout table with the last step's rows. */
function renderTable(s: DemoState): void {
  const body = $("jumpout-table").querySelector("tbody")!;
  const rows = s.jumpout.length > 0
    ? s.jumpout.map((r) => [
      `${r.name} (layer ${r.layer})`,
      r.p.toFixed(3),
      r.qPlus.toFixed(3),
      r.rate.toFixed(3),
    ])
    : [["No step yet", "–", "–", "–"]];
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** Draws the grid's images, the ones runDemo predicts; captions come from `render`. */
function drawGrid(loaded: DemoData): void {
  $("grid").replaceChildren(
    ...oneOfEachClass(loaded.test.labels).map((index) => {
      const li = document.createElement("li");
      li.dataset.index = String(index);
      const canvas = document.createElement("canvas");
      canvas.width = IMAGE_SIDE;
      canvas.height = IMAGE_SIDE;
      const label = CLASS_NAMES[loaded.test.labels[index]];
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Test image ${index}, a ${label}`);
      canvas.getContext("2d")!.putImageData(
        new ImageData(imageRgba(loaded.test.images, index), IMAGE_SIDE),
        0,
        0,
      );
      const truth = document.createElement("span");
      truth.className = "truth";
      truth.textContent = label;
      const guess = document.createElement("span");
      guess.className = "predicted";
      li.append(canvas, truth, guess);
      return li;
    }),
  );
}

/** Writes each grid image's prediction under it. */
function renderPredictions(s: DemoState): void {
  for (const p of s.predictions) {
    const li = $("grid").querySelector<HTMLLIElement>(
      `li[data-index="${p.index}"]`,
    );
    if (li === null) continue;
    const guess = li.querySelector(".predicted")!;
    if (p.predicted < 0) {
      guess.textContent = "…";
      delete li.dataset.correct;
      continue;
    }
    const correct = p.predicted === p.label;
    // The mark repeats what the colour says, for readers who cannot see it.
    guess.textContent = `${correct ? "✓" : "✗"} ${CLASS_NAMES[p.predicted]} ${
      (p.probability * 100).toFixed(0)
    }\u00a0%`;
    guess.setAttribute(
      "aria-label",
      `Predicted ${CLASS_NAMES[p.predicted]}, ${
        (p.probability * 100).toFixed(0)
      } percent, ${correct ? "right" : "wrong"}`,
    );
    li.dataset.correct = String(correct);
    li.title = `True: ${CLASS_NAMES[p.label]}; predicted: ${
      CLASS_NAMES[p.predicted]
    }`;
  }
}
