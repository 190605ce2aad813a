// Layered layout of a subgraph around a root service. Pure: no DOM, no fetch; the page
// and the tests call the same functions.
//
// Columns are hop distances: the root in column 0, downstream services at distance d in
// column +d (to the right), upstream services at distance d in column -d (to the left).
// Every call therefore points left to right: a caller sits one column left of what it
// calls, on both sides of the root.
//
// Inside a column, nodes are ordered to reduce edge crossings with the layer-by-layer
// sweep of Sugiyama, Tagawa and Toda (1981): each sweep walks the columns left to right
// (or right to left) and sorts each column by the barycenter (mean position) of its
// neighbours in the column just placed; an adjacent-exchange pass ("transpose") then swaps
// neighbours in a column while that removes crossings. Crossings between two columns are
// counted by inversions of the edge list (Barth, Juenger and Mutzel 2002) with a Fenwick
// tree. The best order seen, the input order included, is kept: the result never has more
// crossings than the order the nodes came in.
//
// Complexity, for V nodes, E edges between adjacent columns, S sweeps (default 12, fewer
// when a sweep stops improving) and T transpose rounds per sweep (at most 4):
//   one sweep      O(V log V + E)         barycenters and one sort per column
//   crossing count O(E log V)             per sweep, to keep the best order
//   transpose      O(sum over neighbouring pairs a, b of deg(a) * deg(b)) per round,
//                  at most O(E * maxDegree)
//   total          O(S * (V log V + E log V + T * E * maxDegree))
// At 200 nodes and ~600 edges that is a few milliseconds.
//
// Coordinates: each node is a box sized to its label (labels are drawn in a monospace
// font, so the width is known without measuring text); boxes in a column are a fixed
// pitch apart, and columns are a gap apart, so no two boxes (hence labels) overlap,
// whatever the number of nodes. A column of more than `maxRows` nodes is folded into
// k = ceil(n / maxRows) sub-columns side by side (zig-zag, keeping the vertical order),
// so a layer of 180 services is 9 short sub-columns rather than one 6,000 px strip.

export const LAYOUT_DEFAULTS = Object.freeze({
  charWidth: 7.4, // px per character of the 12 px monospace label font (0.6 em, rounded up)
  maxLabelChars: 30, // longer ids are shortened with an ellipsis (the full id is in a title)
  paddingX: 10,
  boxHeight: 24,
  rowGap: 10,
  columnGap: 110,
  maxRows: 20, // a column with more nodes is folded into side-by-side sub-columns
  subColumnGap: 16,
  sweeps: 12,
  transposeRounds: 4,
});

/** The text drawn for a service id: at most `max` characters. */
export function labelText(id, max = LAYOUT_DEFAULTS.maxLabelChars) {
  return id.length <= max ? id : `${id.slice(0, max - 1)}…`;
}

/**
 * Where each service of a subgraph answer sits: {side, distance, layer} by service id.
 *
 * `downNodes` / `upNodes`: the `nodes` of the downstream and upstream answers (each with
 * its `depth`), or null when that direction was not asked. A service on both sides goes
 * to the smaller distance, downstream on ties. The root is {side: "root", distance: 0}.
 *
 * Example: placeBySide("a", [{service_id: "b", depth: 1}], [{service_id: "b", depth: 1},
 * {service_id: "c", depth: 2}]) gives a: layer 0, b: layer 1 (downstream), c: layer -2.
 */
export function placeBySide(rootId, downNodes, upNodes) {
  const places = new Map();
  places.set(rootId, { side: "root", distance: 0, layer: 0 });
  for (const node of downNodes ?? []) {
    if (node.service_id === rootId) continue;
    places.set(node.service_id, { side: "down", distance: node.depth, layer: node.depth });
  }
  for (const node of upNodes ?? []) {
    if (node.service_id === rootId) continue;
    const known = places.get(node.service_id);
    if (known && known.distance <= node.depth) continue;
    places.set(node.service_id, { side: "up", distance: node.depth, layer: -node.depth });
  }
  return places;
}

/** Inversions of `sequence` (integers in [0, size)): pairs i < j with s[i] > s[j]. */
function inversions(sequence, size) {
  const tree = new Int32Array(size + 1);
  let count = 0;
  let seen = 0;
  for (const value of sequence) {
    // How many earlier values are greater than `value`.
    let atMost = 0;
    for (let i = value + 1; i > 0; i -= i & -i) atMost += tree[i];
    count += seen - atMost;
    for (let i = value + 1; i <= size; i += i & -i) tree[i] += 1;
    seen += 1;
  }
  return count;
}

/**
 * Crossings between two neighbouring columns. `pairs`: [leftIndex, rightIndex] per edge,
 * indexes being positions in their columns. Two edges cross when their ends are in
 * opposite orders; edges sharing an end do not cross. O(E log E).
 */
export function bilayerCrossings(pairs, rightSize) {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return inversions(
    sorted.map((p) => p[1]),
    Math.max(rightSize, 1),
  );
}

/** Group node ids by layer, in input order; returns {layers: Map layer -> ids, min, max}. */
function groupLayers(nodes) {
  const layers = new Map();
  let min = 0;
  let max = 0;
  for (const node of nodes) {
    if (!layers.has(node.layer)) layers.set(node.layer, []);
    layers.get(node.layer).push(node.id);
    min = Math.min(min, node.layer);
    max = Math.max(max, node.layer);
  }
  for (let layer = min; layer <= max; layer += 1) {
    if (!layers.has(layer)) layers.set(layer, []);
  }
  return { layers, min, max };
}

/**
 * The edges between neighbouring columns, as {left, right} id pairs keyed by the left
 * column: an edge u -> v with layer(v) = layer(u) +- 1. Other edges (within a column,
 * backwards over several columns, self-loops) do not take part in ordering.
 */
function adjacentEdges(edges, layerOf) {
  const byLeftLayer = new Map();
  for (const edge of edges) {
    const a = layerOf.get(edge.source);
    const b = layerOf.get(edge.target);
    if (a === undefined || b === undefined || Math.abs(a - b) !== 1) continue;
    const [left, right] = a < b ? [edge.source, edge.target] : [edge.target, edge.source];
    const layer = Math.min(a, b);
    if (!byLeftLayer.has(layer)) byLeftLayer.set(layer, []);
    byLeftLayer.get(layer).push({ left, right });
  }
  return byLeftLayer;
}

/** Total crossings of an ordering (Map layer -> ids) over all neighbouring columns. */
export function countCrossings(order, edges, layerOf) {
  const byLeftLayer = adjacentEdges(edges, layerOf);
  return crossingsOf(order, byLeftLayer);
}

function crossingsOf(order, byLeftLayer) {
  let total = 0;
  for (const [layer, list] of byLeftLayer) {
    const leftIndex = indexOf(order.get(layer));
    const rightIds = order.get(layer + 1);
    const rightIndex = indexOf(rightIds);
    total += bilayerCrossings(
      list.map((e) => [leftIndex.get(e.left), rightIndex.get(e.right)]),
      rightIds.length,
    );
  }
  return total;
}

function indexOf(ids) {
  const index = new Map();
  ids.forEach((id, i) => index.set(id, i));
  return index;
}

function copyOrder(order) {
  return new Map([...order].map(([layer, ids]) => [layer, [...ids]]));
}

/**
 * Order the nodes within their columns to reduce crossings. `nodes`: [{id, layer}] (the
 * input order is the starting order), `edges`: [{source, target}]. Returns
 * {order: Map layer -> ids, crossings, initialCrossings, sweeps}.
 */
export function orderLayers(nodes, edges, options = {}) {
  const sweeps = options.sweeps ?? LAYOUT_DEFAULTS.sweeps;
  const transposeRounds = options.transposeRounds ?? LAYOUT_DEFAULTS.transposeRounds;
  const layerOf = new Map(nodes.map((n) => [n.id, n.layer]));
  const { layers, min, max } = groupLayers(nodes);
  const byLeftLayer = adjacentEdges(edges, layerOf);

  // Neighbours of each node in the column to its left and to its right.
  const leftOf = new Map(nodes.map((n) => [n.id, []]));
  const rightOf = new Map(nodes.map((n) => [n.id, []]));
  for (const list of byLeftLayer.values()) {
    for (const { left, right } of list) {
      rightOf.get(left).push(right);
      leftOf.get(right).push(left);
    }
  }

  let order = copyOrder(layers);
  const initialCrossings = crossingsOf(order, byLeftLayer);
  let best = copyOrder(order);
  let bestCrossings = initialCrossings;
  let sweepsDone = 0;
  let sinceImprovement = 0;

  for (let sweep = 0; sweep < sweeps && bestCrossings > 0; sweep += 1) {
    const forward = sweep % 2 === 0;
    const sequence = [];
    if (forward) for (let l = min + 1; l <= max; l += 1) sequence.push([l, l - 1, leftOf]);
    else for (let l = max - 1; l >= min; l -= 1) sequence.push([l, l + 1, rightOf]);
    for (const [layer, fixedLayer, neighboursOf] of sequence) {
      const fixedIndex = indexOf(order.get(fixedLayer));
      const ids = order.get(layer);
      const keyed = ids.map((id, i) => {
        const positions = neighboursOf.get(id).map((n) => fixedIndex.get(n));
        // A node with no neighbour there keeps its place.
        const key = positions.length
          ? positions.reduce((s, p) => s + p, 0) / positions.length
          : (i * Math.max(fixedIndex.size - 1, 0)) / Math.max(ids.length - 1, 1);
        return { id, key, i };
      });
      keyed.sort((a, b) => a.key - b.key || a.i - b.i);
      order.set(
        layer,
        keyed.map((k) => k.id),
      );
    }
    transpose(order, min, max, leftOf, rightOf, transposeRounds);
    sweepsDone += 1;
    const crossings = crossingsOf(order, byLeftLayer);
    if (crossings < bestCrossings) {
      bestCrossings = crossings;
      best = copyOrder(order);
      sinceImprovement = 0;
    } else {
      sinceImprovement += 1;
      if (sinceImprovement >= 4) break;
    }
  }
  return { order: best, crossings: bestCrossings, initialCrossings, sweeps: sweepsDone };
}

/** Crossings between the edges of a and b towards one neighbouring column, a above b. */
function pairCrossings(aNeighbours, bNeighbours, index) {
  let count = 0;
  for (const x of aNeighbours) {
    const px = index.get(x);
    for (const y of bNeighbours) if (px > index.get(y)) count += 1;
  }
  return count;
}

/** Swap neighbouring nodes of a column while that lowers crossings on both sides. */
function transpose(order, min, max, leftOf, rightOf, rounds) {
  for (let round = 0; round < rounds; round += 1) {
    let improved = false;
    for (let layer = min; layer <= max; layer += 1) {
      const ids = order.get(layer);
      if (ids.length < 2) continue;
      const leftIndex = layer > min ? indexOf(order.get(layer - 1)) : new Map();
      const rightIndex = layer < max ? indexOf(order.get(layer + 1)) : new Map();
      const cost = (a, b) =>
        pairCrossings(leftOf.get(a), leftOf.get(b), leftIndex) +
        pairCrossings(rightOf.get(a), rightOf.get(b), rightIndex);
      for (let i = 0; i + 1 < ids.length; i += 1) {
        const a = ids[i];
        const b = ids[i + 1];
        if (cost(b, a) < cost(a, b)) {
          ids[i] = b;
          ids[i + 1] = a;
          improved = true;
        }
      }
    }
    if (!improved) return;
  }
}

/**
 * The full layout. `nodes`: [{id, layer, label?}], `edges`: [{source, target}].
 * Returns {boxes: Map id -> {x, y, width, height, layer, index} (x, y: box centre),
 * columns: Map layer -> {x, width, boxWidth, folds}, order, crossings, initialCrossings, bounds}.
 *
 * Example: layeredLayout([{id: "r", layer: 0}, {id: "a", layer: 1}], [{source: "r",
 * target: "a"}]) puts a to the right of r, both at y = 0.
 */
export function layeredLayout(nodes, edges, options = {}) {
  const o = { ...LAYOUT_DEFAULTS, ...options };
  const { order, crossings, initialCrossings, sweeps } = orderLayers(nodes, edges, o);
  const widthOf = new Map(
    nodes.map((n) => [
      n.id,
      Math.ceil(labelText(n.label ?? n.id, o.maxLabelChars).length * o.charWidth + 2 * o.paddingX),
    ]),
  );
  const layerNumbers = [...order.keys()].sort((a, b) => a - b);
  const columns = new Map();
  for (const layer of layerNumbers) {
    const ids = order.get(layer);
    const boxWidth = Math.max(40, ...ids.map((id) => widthOf.get(id)));
    const folds = Math.max(1, Math.ceil(ids.length / o.maxRows));
    columns.set(layer, {
      boxWidth,
      folds,
      width: folds * boxWidth + (folds - 1) * o.subColumnGap,
    });
  }
  // Column 0 (the root) is centred on x = 0; the others follow outwards.
  columns.get(0).x = 0;
  for (const layer of layerNumbers.filter((l) => l > 0)) {
    const previous = columns.get(layer - 1);
    const column = columns.get(layer);
    column.x = previous.x + previous.width / 2 + o.columnGap + column.width / 2;
  }
  for (const layer of layerNumbers.filter((l) => l < 0).reverse()) {
    const next = columns.get(layer + 1);
    const column = columns.get(layer);
    column.x = next.x - next.width / 2 - o.columnGap - column.width / 2;
  }
  const pitch = o.boxHeight + o.rowGap;
  const boxes = new Map();
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const layer of layerNumbers) {
    const ids = order.get(layer);
    const column = columns.get(layer);
    // Folded columns zig-zag: node i goes to sub-column i mod k, and each node sits
    // pitch / k below the previous one, so the vertical order is kept, boxes of one
    // sub-column stay a pitch apart, and sub-columns are a box width apart.
    const step = pitch / column.folds;
    const left = column.x - column.width / 2;
    ids.forEach((id, index) => {
      const fold = index % column.folds;
      const box = {
        x: left + fold * (column.boxWidth + o.subColumnGap) + column.boxWidth / 2,
        y: (index - (ids.length - 1) / 2) * step,
        width: widthOf.get(id),
        height: o.boxHeight,
        layer,
        index,
      };
      boxes.set(id, box);
      minX = Math.min(minX, box.x - box.width / 2);
      maxX = Math.max(maxX, box.x + box.width / 2);
      minY = Math.min(minY, box.y - box.height / 2);
      maxY = Math.max(maxY, box.y + box.height / 2);
    });
  }
  if (!boxes.size) minX = maxX = minY = maxY = 0;
  return {
    boxes,
    columns,
    order,
    crossings,
    initialCrossings,
    sweeps,
    bounds: { minX, minY, maxX, maxY },
  };
}
