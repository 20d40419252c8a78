// The page of `boundaries web`: stations from stations.pmtiles filled by class (computed in Python and
// inlined as #config, with the fill expression and the legend), commune outlines on top, a legend, a
// hover box and a search by commune name.
// Text from the data only ever reaches the page as textContent (never as HTML).
"use strict";

const config = JSON.parse(document.getElementById("config").textContent);

// A pmtiles source that uses HTTP range requests, and falls back to the whole archive when the
// server ignores them (python -m http.server answers 200 with the whole file): any static host works.
class RangeOrWhole {
  constructor(url) { this.url = url; this.whole = null; }
  getKey() { return this.url; }
  async getBytes(offset, length, signal) {
    if (this.whole) return { data: (await this.whole).slice(offset, offset + length) };
    const resp = await fetch(this.url, { signal, headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
    if (resp.status === 206) return { data: await resp.arrayBuffer() };
    if (!resp.ok) throw new Error(`${this.url}: HTTP ${resp.status}`);
    if (!this.whole) {
      this.whole = resp.arrayBuffer();
      this.whole.catch(() => { this.whole = null; });
    }
    return { data: (await this.whole).slice(offset, offset + length) };
  }
}

// As boundaries.web.search_key folds the names: lower case, accents dropped, other characters one space.
function fold(text) {
  return text.replace(/œ/g, "oe").replace(/Œ/g, "OE").replace(/æ/g, "ae").replace(/Æ/g, "AE")
    .toLowerCase().normalize("NFD").replace(/\p{M}/gu, "").replace(/[^a-z0-9]+/g, " ").trim();
}

function element(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const protocol = new pmtiles.Protocol();
maplibregl.addProtocol("pmtiles", protocol.tile);
const archive = (name) => {
  const url = new URL(name, window.location.href).href;
  protocol.add(new pmtiles.PMTiles(new RangeOrWhole(url)));
  return `pmtiles://${url}`;
};

const map = new maplibregl.Map({
  container: "map",
  bounds: config.bounds,
  fitBoundsOptions: { padding: 20 },
  attributionControl: false,
  style: {
    version: 8,
    sources: {
      stations: { type: "vector", url: archive("stations.pmtiles") },
      communes: { type: "vector", url: archive("communes.pmtiles") },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#f4f3ef" } },
      { id: "stations-fill", type: "fill", source: "stations", "source-layer": "stations",
        paint: { "fill-color": config.fill, "fill-opacity": 0.85 } },
      { id: "stations-line", type: "line", source: "stations", "source-layer": "stations",
        paint: { "line-color": "#ffffff", "line-width": 0.6 } },
      { id: "stations-hover", type: "line", source: "stations", "source-layer": "stations",
        filter: ["==", ["get", "id"], ""], paint: { "line-color": "#000000", "line-width": 2 } },
      { id: "communes-line", type: "line", source: "communes", "source-layer": "communes",
        paint: { "line-color": "#222222", "line-width": 1.6 } },
    ],
  },
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
window.boundariesMap = map;

function showStatus(text) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.hidden = false;
}
map.on("error", (e) => showStatus(`Could not load the map data: ${e.error && e.error.message}`));

// The legend as boundaries.web.legend_of made it: a title, a note (the default colouring), value rows.
function buildLegend() {
  const legend = document.getElementById("legend");
  legend.append(element("div", config.legend.title, "title"));
  if (config.legend.note) legend.append(element("div", config.legend.note, "note"));
  for (const [label, colour] of config.legend.rows) {
    const row = element("div", undefined, "row");
    const swatch = element("span", undefined, "swatch");
    swatch.style.background = colour;
    row.append(swatch, element("span", label));
    legend.append(row);
  }
}
buildLegend();

// Numbers as the legend writes them (boundaries.web._number_label): whole ones as they are, others to 3 digits.
function formatValue(v) {
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en") : String(Number(v.toPrecision(3)));
  return v === undefined || v === null || v === "" ? "—" : String(v);
}

const hover = document.getElementById("hover");
map.on("mousemove", "stations-fill", (e) => {
  const p = e.features[0].properties;
  const lines = [`Station ${p.id}`, `${p.name} (${p.commune})`];
  if (config.field !== null) lines.push(`${config.field}: ${formatValue(p.value)}`);
  for (const name of config.hover) lines.push(`${name}: ${formatValue(p[name])}`);
  hover.textContent = lines.join("\n");
  hover.style.left = `${e.point.x + 12}px`;
  hover.style.top = `${e.point.y + 12}px`;
  hover.hidden = false;
  map.setFilter("stations-hover", ["==", ["get", "id"], p.id]);
});
map.on("mouseleave", "stations-fill", () => {
  hover.hidden = true;
  map.setFilter("stations-hover", ["==", ["get", "id"], ""]);
});

let communes = [];
fetch("communes.json").then((r) => r.json()).then((list) => { communes = list; })
  .catch((err) => showStatus(`Could not load communes.json: ${err.message}`));

// The communes whose folded name holds the folded query, those that start with it first.
function searchCommunes(query) {
  const q = fold(query);
  if (!q) return [];
  const hits = communes.filter((c) => c.key.includes(q));
  hits.sort((a, b) => (b.key.startsWith(q) - a.key.startsWith(q)) || a.key.localeCompare(b.key));
  return hits.slice(0, 12);
}

function zoomTo(commune) {
  const [x0, y0, x1, y1] = commune.bbox;
  map.fitBounds([[x0, y0], [x1, y1]], { padding: 30, animate: false });
}

const input = document.getElementById("search");
const list = document.getElementById("matches");
input.addEventListener("input", () => {
  list.replaceChildren(...searchCommunes(input.value).map((c) => {
    const li = element("li", `${c.name} (${c.code})`);
    li.addEventListener("click", () => zoomTo(c));
    return li;
  }));
});
input.addEventListener("keydown", (e) => {
  const hits = searchCommunes(input.value);
  if (e.key === "Enter" && hits.length) zoomTo(hits[0]);
});
window.boundariesSearch = (query) => searchCommunes(query);
window.boundariesFold = fold;  // for the tests: the page folds as boundaries.web.search_key
