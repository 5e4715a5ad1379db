import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { barChart, type BarChartSpec } from "../report/bar_chart.ts";
import { PALETTE } from "../report/_svg.ts";
import { decodeEntities as decode } from "./_helpers/xml_entities.ts";

/**
 * Throws unless `svg` is one balanced `<svg>` element whose tags have only
 * double-quoted attributes and whose text and attributes have no bare
 * `<`, `>` or `&`.
 */
function checkWellFormed(svg: string): void {
  ok(svg.startsWith("<svg "), svg.slice(0, 40));
  ok(svg.endsWith("</svg>\n"), svg.slice(-40));
  const tag = /^<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>$/;
  const open: string[] = [];
  let roots = 0;
  for (const [token] of svg.trimEnd().matchAll(/<[^<>]*>|[^<]+|</g)) {
    if (!token.startsWith("<")) {
      if (token.includes(">")) throw new Error(`bare > in text: ${token}`);
      if (open.length === 0) throw new Error(`text outside <svg>: ${token}`);
      decode(token);
      continue;
    }
    const match = tag.exec(token);
    if (match === null) throw new Error(`malformed tag: ${token}`);
    const [, closing, name, attrs, selfClosing] = match;
    for (const [, value] of attrs.matchAll(/="([^"]*)"/g)) decode(value);
    if (closing) {
      const last = open.pop();
      if (last !== name) throw new Error(`</${name}> closes <${last}>`);
    } else if (!selfClosing) {
      if (open.length === 0) roots++;
      open.push(name);
    } else if (open.length === 0) {
      throw new Error(`<${name}/> outside <svg>`);
    }
  }
  if (open.length !== 0) throw new Error(`unclosed <${open.at(-1)}>`);
  equal(roots, 1);
}

/** The attributes, decoded, of every element of the class `className`, in order. */
function byClass(svg: string, className: string): Record<string, string>[] {
  const pattern = new RegExp(`<\\w+ class="${className}"([^>]*)>`, "g");
  return [...svg.matchAll(pattern)].map(([, attrs]) =>
    Object.fromEntries(
      [...attrs.matchAll(/([\w:-]+)="([^"]*)"/g)].map((
        [, key, value],
      ) => [key, decode(value)]),
    )
  );
}

/** The text, decoded, of every `<text>` of the class `className`. */
function texts(svg: string, className: string): string[] {
  const pattern = new RegExp(
    `<text class="${className}"[^>]*>([^<]*)</text>`,
    "g",
  );
  return [...svg.matchAll(pattern)].map(([, text]) => decode(text));
}

/** The tick labels of the value axis (right-aligned), bottom to top, and of the groups (centred). */
function tickLabels(svg: string): { groups: string[]; values: number[] } {
  const labels = [
    ...svg.matchAll(
      /<text class="tick-label"[^>]* text-anchor="(end|middle)">([^<]*)<\/text>/g,
    ),
  ];
  return {
    groups: labels.filter(([, a]) => a === "middle").map(([, , t]) =>
      decode(t)
    ),
    values: labels.filter(([, a]) => a === "end").map(([, , t]) => Number(t)),
  };
}

const yTicks = (svg: string) => tickLabels(svg).values;

/** The plot area, read back from the clip path's rectangle. */
function plotArea(
  svg: string,
): { left: number; top: number; right: number; bottom: number } {
  const [, x, y, w, h] = svg.match(
    /<clipPath id="[^"]+"><rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"\/>/,
  )!.map(Number);
  return { left: x, top: y, right: x + w, bottom: y + h };
}

const near = (a: number, b: number) =>
  ok(Math.abs(a - b) <= 0.006, `${a} vs ${b}`);

const batchNorm: BarChartSpec = {
  title: "Final test accuracy",
  yLabel: "accuracy",
  groups: ["with BatchNorm", "without BatchNorm"],
  series: [
    { label: "dropout", values: [0.902, 0.884] },
    {
      label: "jumpout",
      values: [0.911, NaN],
      lower: [0.905, NaN],
      upper: [0.918, NaN],
    },
    {
      label: "none",
      values: [0.897, 0.872],
      lower: [0.893, 0.866],
      upper: [0.901, 0.879],
    },
  ],
};

Deno.test("checkWellFormed: rejects what a broken chart would contain", () => {
  // The checker the other tests rely on must be able to fail.
  const svg = (body: string) => `<svg a="1">${body}</svg>\n`;
  checkWellFormed(svg(`<g><text>a &amp; b</text></g><rect/>`));
  throws(() => checkWellFormed(svg(`<g>`)), /<\/svg> closes <g>/);
  throws(() => checkWellFormed(`<svg a="1">${svg("")}`), /unclosed <svg>/);
  throws(() => checkWellFormed(svg(`<text>a & b</text>`)), /bare &/);
  throws(() => checkWellFormed(svg(`<text>a > b</text>`)), /bare >/);
  throws(() => checkWellFormed(svg(`<text>a < b</text>`)), /malformed tag/);
  throws(() => checkWellFormed(svg(`<rect x='1'/>`)), /malformed tag/);
  throws(() => checkWellFormed(svg(`<rect x="a&b"/>`)), /bare &/);
  throws(() => checkWellFormed(svg("") + svg("")), /outside <svg>|1/);
});

Deno.test("barChart: a well-formed SVG with a bar per series and group, missing ones left out", () => {
  const svg = barChart(batchNorm);
  checkWellFormed(svg);
  ok(svg.startsWith(`<svg xmlns="http://www.w3.org/2000/svg" width="640"`));
  ok(!/NaN|Infinity/.test(svg));
  // 3 series × 2 groups, less jumpout's missing bar.
  equal(byClass(svg, "bar").length, 5);
  equal((svg.match(/<rect class="bar"/g) ?? []).length, 5);
  deepEqual(
    byClass(svg, "series").map((g) => g["data-series"]),
    ["dropout", "jumpout", "none"],
  );
  deepEqual(texts(svg, "title"), ["Final test accuracy"]);
  deepEqual(texts(svg, "axis-label"), ["accuracy"]);
  deepEqual(texts(svg, "legend-label"), ["dropout", "jumpout", "none"]);
  deepEqual(tickLabels(svg).groups, ["with BatchNorm", "without BatchNorm"]);
  // Palette colours in series order, for the bars and the legend's swatches.
  deepEqual(
    byClass(svg, "bar").map((b) => b.fill),
    [PALETTE[0], PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[2]],
  );
  for (const colour of PALETTE.slice(0, 3)) {
    ok(
      new RegExp(`<g class="legend">[^]*<rect [^>]*fill="${colour}"`).test(svg),
    );
  }
  // No vertical grid lines cross the bars.
  ok(!/class="grid" d="[^"]*V/.test(svg));
});

Deno.test("barChart: bars sit side by side in their group's slot, as tall as their values", () => {
  const svg = barChart({
    title: "",
    groups: ["a", "b"],
    series: [
      { label: "p", values: [0.5, 1] },
      { label: "q", values: [0.25, 0] },
    ],
    yMin: 0,
    yMax: 1,
  });
  checkWellFormed(svg);
  const { left, top, right, bottom } = plotArea(svg);
  const middle = (left + right) / 2;
  const bars = byClass(svg, "bar").map((b) => ({
    x: Number(b.x),
    y: Number(b.y),
    w: Number(b.width),
    h: Number(b.height),
  }));
  // Order in the document: p in a, p in b, q in a, q in b.
  const [pa, pb, qa, qb] = bars;
  ok(left < pa.x && pa.x + pa.w <= qa.x && qa.x + qa.w < middle);
  ok(middle < pb.x && pb.x + pb.w <= qb.x && qb.x + qb.w < right);
  for (const b of bars) near(b.y + b.h, bottom);
  near(pa.h, (bottom - top) / 2);
  near(pb.y, top);
  near(qa.h, (bottom - top) / 4);
  equal(qb.h, 0);
  deepEqual(yTicks(svg), [0, 0.2, 0.4, 0.6, 0.8, 1]);

  // Negative values hang from 0.
  const signed = barChart({
    title: "",
    groups: ["a", "b"],
    series: [{ label: "d", values: [-0.5, 1] }],
    yMin: -1,
    yMax: 1,
  });
  const area = plotArea(signed);
  const zero = (area.top + area.bottom) / 2;
  const [down, up] = byClass(signed, "bar");
  near(Number(down.y), zero);
  near(Number(down.height), (area.bottom - area.top) / 4);
  near(Number(up.y), area.top);
  near(Number(up.y) + Number(up.height), zero);
});

Deno.test("barChart: the default value axis fits close results, and reaches 0 when that costs little", () => {
  // Accuracies of 0.88 to 0.92: round ticks around them, not from 0.
  const close = barChart({
    title: "",
    groups: ["x", "y"],
    series: [{ label: "a", values: [0.88, 0.92] }],
  });
  const ticks = yTicks(close);
  ok(ticks[0] > 0.8 && ticks[0] <= 0.88, `${ticks}`);
  ok(ticks.at(-1)! >= 0.92 && ticks.at(-1)! < 1, `${ticks}`);
  ok(ticks.length >= 4, `${ticks}`);
  // The shorter bar still shows: the axis is padded below the data.
  ok(Number(byClass(close, "bar")[0].height) > 10);

  // Error bars widen the range.
  const wide = yTicks(barChart({
    title: "",
    groups: ["x", "y"],
    series: [{
      label: "a",
      values: [0.88, 0.92],
      lower: [0.8, 0.91],
      upper: [0.89, 0.97],
    }],
  }));
  ok(wide[0] <= 0.8 && wide.at(-1)! >= 0.97, `${wide}`);

  // 0.3 to 0.9: starting from 0 at most doubles the range, so it does.
  deepEqual(
    yTicks(barChart({
      title: "",
      groups: ["x", "y"],
      series: [{ label: "a", values: [0.3, 0.9] }],
    }))[0],
    0,
  );
  // All negative, -3 to -1: ending at 0 at most doubles the range, so it does.
  equal(
    yTicks(barChart({
      title: "",
      groups: ["x"],
      series: [{ label: "a", values: [-3] }, { label: "b", values: [-1] }],
    })).at(-1),
    0,
  );
  // -3 to -2: 0 is farther than that, so the axis stays near the data.
  ok(
    yTicks(barChart({
      title: "",
      groups: ["x"],
      series: [{ label: "a", values: [-3] }, { label: "b", values: [-2] }],
    })).at(-1)! < 0,
  );
  // Fixed ends are kept exactly, even between ticks: bars rise from yMin.
  const fixed = barChart({ ...batchNorm, yMin: 0.85, yMax: 0.95 });
  const { top, bottom } = plotArea(fixed);
  const dropout = byClass(fixed, "bar")[0];
  near(Number(dropout.y) + Number(dropout.height), bottom);
  near(Number(dropout.height), ((0.902 - 0.85) / 0.1) * (bottom - top));
  equal(yTicks(fixed)[0], 0.86);
  // No bars at all: an empty frame.
  const empty = barChart({ title: "", groups: ["x"], series: [] });
  checkWellFormed(empty);
  equal(byClass(empty, "bar").length, 0);
  equal(byClass(empty, "legend").length, 0);
});

Deno.test("barChart: error bars span lower to upper, only where given", () => {
  const svg = barChart({ ...batchNorm, yMin: 0.86, yMax: 0.92 });
  const whiskers = byClass(svg, "error-bar");
  // jumpout in group 1 is missing; dropout has none.
  equal(whiskers.length, 3);
  const { top, bottom } = plotArea(svg);
  const pixel = (v: number) =>
    bottom - ((v - 0.86) / (0.92 - 0.86)) * (bottom - top);
  const [first] = whiskers;
  const [stem] = first.d.split("M").slice(1);
  const [x, y1, y2] = stem.split(/[ V]/).map(Number);
  near(y1, pixel(0.905));
  near(y2, pixel(0.918));
  // The stem runs through the middle of jumpout's bar in group 0.
  const bar = byClass(svg, "bar")[2];
  near(x, Number(bar.x) + Number(bar.width) / 2);
  equal(first.stroke, "#333333");

  // A missing end leaves out that error bar, not the bar.
  const partial = barChart({
    title: "",
    groups: ["a", "b"],
    series: [{
      label: "s",
      values: [1, 2],
      lower: [0.5, NaN],
      upper: [1.5, 2.5],
    }],
  });
  equal(byClass(partial, "bar").length, 2);
  equal(byClass(partial, "error-bar").length, 1);
  equal(
    byClass(
      barChart({ ...batchNorm, series: [batchNorm.series[0]] }),
      "error-bar",
    ).length,
    0,
  );
});

Deno.test("barChart: text is escaped everywhere it appears", () => {
  const nasty = `a <&> "b" 'c'`;
  const svg = barChart({
    title: nasty,
    xLabel: "x&y",
    yLabel: "<y>",
    groups: ["<&>", "g"],
    series: [{ label: "<&>", values: [1, 2], color: `#000" onload="x` }],
  });
  checkWellFormed(svg);
  deepEqual(texts(svg, "title"), [nasty]);
  ok(
    svg.includes(`<title>a &lt;&amp;&gt; &quot;b&quot; &apos;c&apos;</title>`),
  );
  deepEqual(texts(svg, "axis-label"), ["x&y", "<y>"]);
  deepEqual(texts(svg, "legend-label"), ["<&>"]);
  deepEqual(tickLabels(svg).groups, ["<&>", "g"]);
  equal(byClass(svg, "series")[0]["data-series"], "<&>");
  equal(byClass(svg, "bar")[0].fill, `#000" onload="x`);
  ok(!svg.includes(`onload="`));
});

Deno.test("barChart: output is stable, with coordinates of at most 2 decimals", () => {
  const spec: BarChartSpec = {
    ...batchNorm,
    groups: ["one", "two", "three"],
    series: [
      { label: "pi", values: [Math.PI, Math.E, Math.SQRT2] },
      { label: "thirds", values: [1 / 3, 2 / 3, 1] },
    ],
    width: 701,
    height: 333,
  };
  const svg = barChart(spec);
  equal(barChart(structuredClone(spec)), svg);
  const withoutTooltips = svg.replace(/<title>[^<]*<\/title>/g, "");
  const numbers = withoutTooltips.match(/-?\d+(\.\d+)?/g)!;
  ok(numbers.length > 40);
  for (const n of numbers) ok(!/\.\d{3}/.test(n), n);
  // Charts with different titles get different clip ids.
  const clip = (s: string) => s.match(/clipPath id="([^"]+)"/)![1];
  ok(clip(svg) !== clip(barChart({ ...spec, title: "other" })));
});

Deno.test("barChart: past eight series the palette repeats with dashed outlines", () => {
  const svg = barChart({
    title: "",
    groups: ["g"],
    series: Array.from({ length: 9 }, (_, i) => ({
      label: `s${i}`,
      values: [i + 1],
    })),
  });
  const bars = byClass(svg, "bar");
  equal(new Set(bars.slice(0, 8).map((b) => b.fill)).size, 8);
  equal(bars[8].fill, bars[0].fill);
  ok(bars[8]["stroke-dasharray"] !== undefined);
  equal(bars[0]["stroke-dasharray"], undefined);
});

Deno.test("barChart: invalid specs throw with the field and the value", () => {
  const spec = (extra: Partial<BarChartSpec>): BarChartSpec => ({
    title: "",
    groups: ["a", "b"],
    series: [{ label: "s", values: [1, 2] }],
    ...extra,
  });
  const series = (extra: object) =>
    spec({ series: [{ label: "s", values: [1, 2], ...extra }] });
  const cases: [BarChartSpec, ErrorConstructor, RegExp][] = [
    [
      series({ values: [1] }),
      RangeError,
      /^Cannot draw bar chart: series\[0\]\.values must have one value per group \(2\), got 1$/,
    ],
    [
      series({ lower: [0, 1, 2], upper: [2, 3] }),
      RangeError,
      /series\[0\]\.lower must have one value per group \(2\), got 3/,
    ],
    [
      series({ lower: [0, 1] }),
      RangeError,
      /series\[0\]\.upper must be given with the other end/,
    ],
    [
      series({ lower: [0, 3], upper: [2, 2.5] }),
      RangeError,
      /series\[0\]\.lower\[1\] must be at most upper\[1\] \(2\.5\), got 3/,
    ],
    [
      series({ values: [1, "2"] }),
      TypeError,
      /series\[0\]\.values\[1\] must be a number \(NaN for none\), got "2"/,
    ],
    [
      series({ values: [null, 2] }),
      TypeError,
      /series\[0\]\.values\[0\] must be a number \(NaN for none\), got null/,
    ],
    [
      series({ values: undefined }),
      TypeError,
      /series\[0\]\.values must be an array of numbers, got undefined/,
    ],
    [spec({ groups: [] }), RangeError, /groups must name at least one group/],
    [
      spec({ groups: ["a", 2 as unknown as string] }),
      TypeError,
      /groups\[1\] must be a string, got 2/,
    ],
    [
      spec({ groups: "ab" as unknown as string[] }),
      TypeError,
      /groups must be an array of names, got "ab"/,
    ],
    [spec({ yMin: NaN }), RangeError, /yMin must be a finite number, got NaN/],
    [
      spec({ yMax: Infinity }),
      RangeError,
      /yMax must be a finite number, got Infinity/,
    ],
    [
      spec({ yMin: 1, yMax: 0.5 }),
      RangeError,
      /yMin must be less than yMax \(0\.5\), got 1/,
    ],
    [
      spec({ width: 50 }),
      RangeError,
      /width must be a finite number of pixels ≥ 200, got 50/,
    ],
    [spec({ height: NaN }), RangeError, /height must be .*, got NaN/],
  ];
  for (const [bad, type, message] of cases) {
    throws(() => barChart(bad), (e: unknown) => {
      ok(e instanceof type, `${e} is not a ${type.name}`);
      ok(message.test((e as Error).message), `${(e as Error).message}`);
      ok((e as Error).message.startsWith("Cannot draw bar chart: "));
      return true;
    });
  }
});
