import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { lineChart } from "../report/svg_chart.ts";
import { niceScale } from "../report/_nice_scale.ts";
import { PALETTE } from "../report/_svg.ts";
import { decodeEntities as decode } from "./_helpers/xml_entities.ts";

/** An element of a parsed SVG document. */
interface Element {
  name: string;
  attrs: Record<string, string>;
  /** Its own text, entities decoded (children's text excluded). */
  text: string;
  children: Element[];
}

/**
 * A strict parser for the XML subset the charts write: elements with
 * double-quoted attributes, text and entities. Throws on an unbalanced or
 * malformed tag, a duplicate attribute, a bare `&`, `<` or `>` in text or
 * attributes, or anything but one root element.
 */
function parseXml(xml: string): Element {
  const document: Element = {
    name: "#document",
    attrs: {},
    text: "",
    children: [],
  };
  const stack = [document];
  const tag =
    /<(\/?)([A-Za-z][\w:-]*)((?:\s+[A-Za-z][\w:-]*="[^"<>]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    if (xml[i] !== "<") {
      const end = xml.indexOf("<", i) === -1 ? xml.length : xml.indexOf("<", i);
      const raw = xml.slice(i, end);
      if (raw.includes(">")) throw new Error(`bare > in text: ${raw}`);
      stack.at(-1)!.text += decode(raw, "text");
      i = end;
      continue;
    }
    tag.lastIndex = i;
    const match = tag.exec(xml);
    if (match === null) {
      throw new Error(`malformed tag at ${i}: ${xml.slice(i, i + 60)}`);
    }
    const [whole, closing, name, attrText, selfClosing] = match;
    if (closing) {
      if (attrText !== "" || selfClosing) {
        throw new Error(`malformed closing tag: ${whole}`);
      }
      const open = stack.pop()!;
      if (open.name !== name || stack.length === 0) {
        throw new Error(`</${name}> closes <${open.name}>`);
      }
    } else {
      const attrs: Record<string, string> = {};
      for (const [, key, value] of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) {
        if (key in attrs) {
          throw new Error(`duplicate attribute ${key} in ${whole}`);
        }
        attrs[key] = decode(value, `attribute ${key}`);
      }
      const element: Element = { name, attrs, text: "", children: [] };
      stack.at(-1)!.children.push(element);
      if (!selfClosing) stack.push(element);
    }
    i += whole.length;
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (document.children.length !== 1 || document.text.trim() !== "") {
    throw new Error("a document must be exactly one root element");
  }
  return document.children[0];
}

/** Every element under `root` (itself included), depth first. */
function all(root: Element): Element[] {
  return [root, ...root.children.flatMap(all)];
}

function byClass(root: Element, className: string): Element[] {
  return all(root).filter((e) => e.attrs.class === className);
}

/** The plot area, read back from the clip path's rectangle. */
function plotArea(
  root: Element,
): { left: number; top: number; right: number; bottom: number } {
  const rect = all(root).find((e) => e.name === "clipPath")!.children[0];
  const [x, y, w, h] = ["x", "y", "width", "height"].map((k) =>
    Number(rect.attrs[k])
  );
  return { left: x, top: y, right: x + w, bottom: y + h };
}

/** The [x, y] points of an SVG path made of M and L commands, one array per subpath. */
function subpaths(d: string): number[][][] {
  return d.split("M").slice(1).map((part) =>
    part.split("L").map((p) => p.trim().split(" ").map(Number))
  );
}

/** The y axis' tick labels (right-aligned) and the x axis' (centred). */
function tickLabels(root: Element): { x: string[]; y: string[] } {
  const labels = byClass(root, "tick-label");
  return {
    y: labels.filter((e) => e.attrs["text-anchor"] === "end").map((e) =>
      e.text
    ),
    x: labels.filter((e) => e.attrs["text-anchor"] === "middle").map((e) =>
      e.text
    ),
  };
}

const accuracy = {
  title: "Test accuracy",
  xLabel: "epoch",
  yLabel: "accuracy",
  series: [
    { label: "dropout", x: [1, 2, 3, 4], y: [0.81, 0.86, 0.88, 0.885] },
    {
      label: "jumpout",
      x: [1, 2, 3, 4],
      y: [0.84, 0.89, 0.91, 0.915],
      lower: [0.82, 0.88, 0.9, 0.905],
      upper: [0.86, 0.9, 0.92, 0.925],
    },
  ],
};

Deno.test("parseXml: rejects what a broken chart would contain", () => {
  // The checker the other tests rely on must be able to fail.
  parseXml(`<svg a="1"><g><text>a &amp; b</text></g><rect/></svg>`);
  throws(() => parseXml(`<svg><g></svg>`), /closes/);
  throws(() => parseXml(`<svg><g></g>`), /unclosed/);
  throws(() => parseXml(`<svg><text>a & b</text></svg>`), /bare &/);
  throws(() => parseXml(`<svg><text>a < b</text></svg>`), /malformed tag/);
  throws(() => parseXml(`<svg x="1" x="2"/>`), /duplicate/);
  throws(() => parseXml(`<svg/><svg/>`), /one root/);
});

Deno.test("lineChart: a well-formed standalone SVG with title, axis labels and one legend entry per series", () => {
  const svg = lineChart(accuracy);
  const root = parseXml(svg);
  equal(root.name, "svg");
  equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  equal(root.attrs.width, "640");
  equal(root.attrs.height, "400");
  equal(root.attrs.viewBox, "0 0 640 400");
  equal(root.children[0].name, "title");
  equal(root.children[0].text, "Test accuracy");
  deepEqual(byClass(root, "title").map((e) => e.text), ["Test accuracy"]);
  deepEqual(byClass(root, "axis-label").map((e) => e.text), [
    "epoch",
    "accuracy",
  ]);
  deepEqual(byClass(root, "legend-label").map((e) => e.text), [
    "dropout",
    "jumpout",
  ]);
  ok(svg.endsWith("</svg>\n"));
});

Deno.test("lineChart: one line per series, a band only for series with lower/upper, distinct palette colours", () => {
  const root = parseXml(lineChart(accuracy));
  const series = byClass(root, "series");
  deepEqual(series.map((g) => g.attrs["data-series"]), ["dropout", "jumpout"]);
  for (const g of series) equal(byClass(g, "line").length, 1);
  deepEqual(series.map((g) => byClass(g, "band").length), [0, 1]);
  const strokes = byClass(root, "line").map((e) => e.attrs.stroke);
  deepEqual(strokes, [PALETTE[0], PALETTE[1]]);
  // The band is translucent and of its series' colour.
  const band = byClass(root, "band")[0];
  equal(band.attrs.fill, PALETTE[1]);
  ok(Number(band.attrs["fill-opacity"]) < 1);

  // Nine series: all colours differ among the first eight; the ninth reuses the first with dashes.
  const many = lineChart({
    title: "",
    series: Array.from(
      { length: 9 },
      (_, i) => ({ label: `s${i}`, x: [0, 1], y: [i, i + 1] }),
    ),
  });
  const lines = byClass(parseXml(many), "line");
  equal(new Set(lines.slice(0, 8).map((e) => e.attrs.stroke)).size, 8);
  equal(lines[8].attrs.stroke, lines[0].attrs.stroke);
  ok(lines[8].attrs["stroke-dasharray"] !== undefined);
  equal(lines[0].attrs["stroke-dasharray"], undefined);
});

Deno.test("lineChart: points land where the axes put them", () => {
  const root = parseXml(lineChart({
    title: "t",
    series: [{ label: "a", x: [0, 5, 10], y: [0, 0.5, 1] }],
    xMin: 0,
    xMax: 10,
    yMin: 0,
    yMax: 1,
  }));
  const { left, top, right, bottom } = plotArea(root);
  const [[p0, p1, p2]] = subpaths(byClass(root, "line")[0].attrs.d);
  // Coordinates are printed with 2 decimals: within 0.005 of the exact pixel.
  const near = (a: number, b: number) =>
    ok(Math.abs(a - b) <= 0.005, `${a} vs ${b}`);
  near(p0[0], left);
  near(p0[1], bottom);
  near(p1[0], (left + right) / 2);
  near(p1[1], (top + bottom) / 2);
  near(p2[0], right);
  near(p2[1], top);
  deepEqual(tickLabels(root).y, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
});

Deno.test("lineChart: non-finite points leave a gap; a point without neighbours is a dot", () => {
  const svg = lineChart({
    title: "gaps",
    series: [{
      label: "loss",
      x: [1, 2, 3, 4, 5, 6, 7],
      y: [1, 0.8, NaN, 0.6, Infinity, 0.4, 0.3],
    }],
  });
  const root = parseXml(svg);
  ok(!/NaN|Infinity/.test(svg));
  const parts = subpaths(byClass(root, "line")[0].attrs.d);
  deepEqual(parts.map((p) => p.length), [2, 1, 2]);
  equal(byClass(root, "point").length, 1);
  // The dot sits at the lone point, x = 4, between the ends of the neighbouring runs.
  const dot = byClass(root, "point")[0];
  equal(`${dot.attrs.cx} ${dot.attrs.cy}`, parts[1][0].join(" "));
  ok(
    parts[0][1][0] < Number(dot.attrs.cx) &&
      Number(dot.attrs.cx) < parts[2][0][0],
  );

  // A non-finite x is a gap too, and the band skips points whose edges are not finite.
  const banded = parseXml(lineChart({
    title: "",
    series: [{
      label: "b",
      x: [1, NaN, 3, 4],
      y: [1, 2, 3, 4],
      lower: [0, 1, 2, NaN],
      upper: [2, 3, 4, 5],
    }],
  }));
  deepEqual(subpaths(byClass(banded, "line")[0].attrs.d).map((p) => p.length), [
    1,
    2,
  ]);
  equal(byClass(banded, "band")[0].attrs.d.split("M").length - 1, 2);
});

Deno.test("lineChart: text is escaped everywhere it appears", () => {
  const nasty = `a < b & "c" 'd' > e`;
  const svg = lineChart({
    title: nasty,
    xLabel: `x&y`,
    yLabel: `<y>`,
    series: [{
      label: `p="0.5"`,
      x: [0, 1],
      y: [0, 1],
      color: `#000" onload="x`,
    }],
  });
  const root = parseXml(svg);
  equal(root.children[0].text, nasty);
  equal(byClass(root, "title")[0].text, nasty);
  deepEqual(byClass(root, "axis-label").map((e) => e.text), ["x&y", "<y>"]);
  deepEqual(byClass(root, "legend-label").map((e) => e.text), [`p="0.5"`]);
  ok(svg.includes("a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e"));
  // An odd colour stays one attribute value instead of adding attributes.
  equal(byClass(root, "line")[0].attrs.stroke, `#000" onload="x`);
  ok(!all(root).some((e) => "onload" in e.attrs));
});

Deno.test("lineChart: output is stable and numbers have at most 2 decimals", () => {
  const spec = {
    ...accuracy,
    series: [{
      label: "thirds",
      x: [1 / 3, 2 / 3, 1],
      y: [Math.PI, Math.E, Math.SQRT2],
    }],
  };
  const svg = lineChart(spec);
  equal(lineChart(spec), svg);
  const numbers = svg.match(/-?\d+(\.\d+)?/g)!;
  ok(numbers.length > 50);
  for (const n of numbers) ok(!/\.\d{3}/.test(n), n);
});

Deno.test("niceScale: round ticks for typical ranges (target 5)", () => {
  const cases: [number, number, number, number, number[]][] = [
    // low, high, min, max, ticks
    [0, 1, 0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0, 0.37, 0, 0.4, [0, 0.1, 0.2, 0.3, 0.4]],
    [80, 93, 80, 95, [80, 85, 90, 95]],
    [-3.2, -1.1, -3.5, -1, [-3.5, -3, -2.5, -2, -1.5, -1]],
    [-1, 2, -1, 2, [-1, 0, 1, 2]],
    [-0.05, 0.012, -0.06, 0.02, [-0.06, -0.04, -0.02, 0, 0.02]],
    [0, 12345, 0, 15000, [0, 5000, 10000, 15000]],
    [1e-6, 3e-6, 1e-6, 3e-6, [1e-6, 1.5e-6, 2e-6, 2.5e-6, 3e-6]],
    // One value: widened by 10% of it each way, then rounded out to the step.
    [5, 5, 4.4, 5.6, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]],
    // All zeros: widened by 1 each way.
    [0, 0, -1, 1, [-1, -0.5, 0, 0.5, 1]],
    [-2, -2, -2.2, -1.8, [-2.2, -2.1, -2, -1.9, -1.8]],
    // No data at all.
    [Infinity, -Infinity, 0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
  ];
  for (const [low, high, min, max, ticks] of cases) {
    const scale = niceScale(low, high);
    deepEqual(
      [scale.min, scale.max, scale.ticks],
      [min, max, ticks],
      `${low}..${high}`,
    );
  }
  equal(niceScale(0, 0.37).decimals, 1);
  equal(niceScale(-0.05, 0.012).decimals, 2);
  equal(niceScale(80, 93).decimals, 0);
});

Deno.test("niceScale: fixed ends are kept exactly, with ticks inside them", () => {
  deepEqual(niceScale(0.2, 0.5, { min: 0, max: 1 }).ticks, [
    0,
    0.2,
    0.4,
    0.6,
    0.8,
    1,
  ]);
  const low = niceScale(0.3, 0.37, { min: 0 });
  deepEqual([low.min, low.max, low.ticks], [0, 0.4, [0, 0.1, 0.2, 0.3, 0.4]]);
  const odd = niceScale(0, 1, { min: 0.05, max: 0.95 });
  deepEqual([odd.min, odd.max, odd.ticks], [0.05, 0.95, [0.2, 0.4, 0.6, 0.8]]);
  // Data entirely above a fixed top still gives a range ending there.
  const above = niceScale(5, 6, { max: 1 });
  equal(above.max, 1);
  ok(above.min < 1);
  deepEqual(niceScale(0, 10, { target: 2 }).ticks, [0, 5, 10]);
});

Deno.test("lineChart: a single point and all-equal values get a round range around them", () => {
  const single = parseXml(
    lineChart({ title: "", series: [{ label: "one", x: [3], y: [0.5] }] }),
  );
  deepEqual(tickLabels(single).y, [
    "0.44",
    "0.46",
    "0.48",
    "0.50",
    "0.52",
    "0.54",
    "0.56",
  ]);
  const dot = byClass(single, "point")[0];
  const { left, top, right, bottom } = plotArea(single);
  // 0.5 is the middle of 0.44..0.56, and x = 3 the middle of its widened range.
  ok(Math.abs(Number(dot.attrs.cy) - (top + bottom) / 2) <= 0.005);
  ok(Math.abs(Number(dot.attrs.cx) - (left + right) / 2) <= 0.005);

  const flat = parseXml(
    lineChart({
      title: "",
      series: [{ label: "c", x: [1, 2, 3], y: [0, 0, 0] }],
    }),
  );
  deepEqual(tickLabels(flat).y, ["-1.0", "-0.5", "0.0", "0.5", "1.0"]);
  // Whole epochs get whole ticks.
  deepEqual(tickLabels(parseXml(lineChart(accuracy))).x, ["1", "2", "3", "4"]);

  // No series at all: an empty frame.
  const empty = parseXml(lineChart({ title: "nothing", series: [] }));
  equal(byClass(empty, "series").length, 0);
  equal(byClass(empty, "legend").length, 0);
});

Deno.test("lineChart: invalid specs throw with what is wrong", () => {
  const one = (extra: object) => ({
    title: "",
    series: [{ label: "a", x: [1, 2], y: [1, 2], ...extra }],
  });
  throws(
    () => lineChart(one({ y: [1] })),
    /Cannot draw line chart: series\[0\]\.y must have one value per x \(2\), got 1/,
  );
  throws(
    () => lineChart(one({ lower: [0, 1] })),
    /series\[0\]\.upper must be given/,
  );
  throws(
    () => lineChart({ ...one({}), width: 50 }),
    /width must be a finite number of pixels ≥ 200, got 50/,
  );
  throws(() => lineChart({ ...one({}), height: NaN }), /height must be/);
  throws(
    () => lineChart({ ...one({}), yMin: 1, yMax: 1 }),
    /yMin must be less than yMax \(1\), got 1/,
  );
  throws(
    () => lineChart({ ...one({}), xMax: Infinity }),
    /xMax must be a finite number, got Infinity/,
  );
});
