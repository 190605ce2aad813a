// Saving the drawing as files: an SVG that renders on its own (every element carries its
// computed look as presentation attributes, since the page's stylesheet does not travel
// with it) and a PNG painted from the drawn SVG on a canvas.
//
// The page's Content-Security-Policy allows images from this origin only (no blob: or
// data: images) and no inline style attributes, so the PNG cannot be made by loading the
// SVG into an <img>, nor the SVG styled with `style=`: the canvas is painted element by
// element from the live SVG (paths, rects, circles, text, arrowheads, clips) with each
// element's computed style, and the SVG gets presentation attributes.

const MARGIN = 40;
// The computed properties written into the saved SVG (those the stylesheet sets on the
// drawing's elements).
const PRESENTATION = [
  "fill",
  "fill-opacity",
  "stroke",
  "stroke-width",
  "stroke-opacity",
  "stroke-dasharray",
  "stroke-linecap",
  "opacity",
  "font-family",
  "font-size",
  "font-weight",
  "display",
];
// A PNG at twice the drawing's size, within what every browser's canvas takes.
const PNG_SCALE = 2;
const PNG_MAX_SIDE = 8000;
const PNG_MAX_PIXELS = 32e6;

/** The drawing's extent with a margin: {x, y, width, height} in SVG units. */
function extentOf(bounds) {
  return {
    x: bounds.minX - MARGIN,
    y: bounds.minY - MARGIN,
    width: bounds.maxX - bounds.minX + 2 * MARGIN,
    height: bounds.maxY - bounds.minY + 2 * MARGIN,
  };
}

// "7px, 4px" -> "7, 4": plain numbers read the same in every SVG renderer.
const unitless = (value) => value.replace(/(\d)px\b/g, "$1");

/**
 * The drawn SVG as a standalone document (a string): the whole drawing (not just the
 * part zoomed to), its background, and each element's look written into it.
 */
export function standaloneSvg(svg, bounds) {
  const extent = extentOf(bounds);
  const copy = svg.cloneNode(true);
  const originals = [...svg.querySelectorAll("*")];
  const copies = [...copy.querySelectorAll("*")];
  originals.forEach((element, index) => {
    if (element.localName === "title") return;
    const style = getComputedStyle(element);
    for (const name of PRESENTATION) {
      const value = style.getPropertyValue(name);
      if (value) copies[index].setAttribute(name, unitless(value));
    }
  });
  for (const name of ["class", "tabindex", "role", "aria-labelledby", "data-drift-filter"]) {
    copy.removeAttribute(name);
  }
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("viewBox", `${extent.x} ${extent.y} ${extent.width} ${extent.height}`);
  copy.setAttribute("width", String(Math.ceil(extent.width)));
  copy.setAttribute("height", String(Math.ceil(extent.height)));
  const background = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  for (const [name, value] of Object.entries({ ...extent, fill: getComputedStyle(svg).backgroundColor })) {
    background.setAttribute(name, String(value));
  }
  copy.prepend(background);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

// --- the PNG ---------------------------------------------------------------------------

function localMatrix(element) {
  const transform = element.transform?.baseVal?.consolidate();
  return transform ? DOMMatrix.fromMatrix(transform.matrix) : new DOMMatrix();
}

const number = (value, fallback = 0) => {
  const parsed = Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : fallback;
};

function dashes(value) {
  if (!value || value === "none") return [];
  return value.split(/[\s,]+/).filter(Boolean).map((part) => number(part));
}

/** Fill, then stroke, a shape as its computed style says. */
function paintShape(context, shape, style, opacity) {
  if (style.fill && style.fill !== "none") {
    context.globalAlpha = opacity * number(style.fillOpacity, 1);
    context.fillStyle = style.fill;
    context.fill(shape);
  }
  const width = number(style.strokeWidth);
  if (style.stroke && style.stroke !== "none" && width > 0) {
    context.globalAlpha = opacity * number(style.strokeOpacity, 1);
    context.strokeStyle = style.stroke;
    context.lineWidth = width;
    context.lineCap = style.strokeLinecap || "butt";
    context.setLineDash(dashes(style.strokeDasharray));
    context.stroke(shape);
    context.setLineDash([]);
  }
}

function rectShape(element) {
  const [x, y, width, height, rx] = ["x", "y", "width", "height", "rx"].map((name) =>
    number(element.getAttribute(name)),
  );
  const shape = new Path2D();
  shape.roundRect(x, y, width, height, Math.min(rx, width / 2, height / 2));
  return shape;
}

function circleShape(element) {
  const shape = new Path2D();
  shape.arc(number(element.getAttribute("cx")), number(element.getAttribute("cy")), number(element.getAttribute("r")), 0, 2 * Math.PI);
  return shape;
}

const SHAPES = {
  path: (element) => new Path2D(element.getAttribute("d") ?? ""),
  rect: rectShape,
  circle: circleShape,
};

/** The arrowhead of a path (its `marker-end`), drawn at its end along its direction. */
function paintMarker(context, path, matrix, opacity) {
  const reference = /url\(["']?#([^"')]+)["']?\)/.exec(path.getAttribute("marker-end") ?? "");
  const marker = reference && path.ownerSVGElement.getElementById(reference[1]);
  if (!marker) return;
  const length = path.getTotalLength();
  if (!(length > 0)) return;
  const end = path.getPointAtLength(length);
  const before = path.getPointAtLength(Math.max(0, length - 0.5));
  const angle = Math.atan2(end.y - before.y, end.x - before.x);
  const box = marker.viewBox.baseVal;
  const size = number(marker.getAttribute("markerWidth"), 3);
  const units = marker.getAttribute("markerUnits") === "userSpaceOnUse" ? 1 : number(getComputedStyle(path).strokeWidth, 1);
  const scale = (size * units) / (box?.width || size);
  const placed = matrix
    .translate(end.x, end.y)
    .rotate((angle * 180) / Math.PI)
    .scale(scale)
    .translate(-number(marker.getAttribute("refX")), -number(marker.getAttribute("refY")));
  for (const child of marker.children) paintElement(context, child, placed, opacity);
}

function paintText(context, element, style, opacity) {
  const size = number(style.fontSize, 12);
  context.globalAlpha = opacity;
  context.fillStyle = style.fill;
  context.font = `${style.fontWeight} ${size}px ${style.fontFamily}`;
  const anchor = element.getAttribute("text-anchor");
  context.textAlign = anchor === "middle" ? "center" : anchor === "end" ? "right" : "left";
  context.textBaseline = "alphabetic";
  const dy = element.getAttribute("dy") ?? "0";
  const shift = dy.endsWith("em") ? number(dy) * size : number(dy);
  context.fillText(element.textContent ?? "", number(element.getAttribute("x")), number(element.getAttribute("y")) + shift);
}

/** Paints `element` and what it holds, under `matrix` (its parent's user space). */
function paintElement(context, element, matrix, opacity) {
  const name = element.localName;
  if (["title", "defs", "clipPath", "marker", "desc"].includes(name)) return;
  const style = getComputedStyle(element);
  if (style.display === "none" || style.visibility === "hidden") return;
  const own = matrix.multiply(localMatrix(element));
  const alpha = opacity * number(style.opacity, 1);
  context.save();
  context.setTransform(own);
  const clip = /url\(["']?#([^"')]+)["']?\)/.exec(element.getAttribute("clip-path") ?? "");
  const clipPath = clip && element.ownerSVGElement.getElementById(clip[1]);
  if (clipPath) {
    for (const part of clipPath.children) {
      const shape = SHAPES[part.localName]?.(part);
      if (shape) context.clip(shape);
    }
  }
  if (name === "g") {
    context.restore();
    for (const child of element.children) paintElement(context, child, own, alpha);
    return;
  }
  if (name === "text") paintText(context, element, style, alpha);
  else if (SHAPES[name]) paintShape(context, SHAPES[name](element), style, alpha);
  context.restore();
  if (name === "path" && element.hasAttribute("marker-end")) paintMarker(context, element, own, alpha);
}

/** The drawing painted on a canvas, as a PNG blob (a promise). */
export function drawingPng(svg, bounds) {
  const extent = extentOf(bounds);
  const scale = Math.min(
    PNG_SCALE,
    PNG_MAX_SIDE / extent.width,
    PNG_MAX_SIDE / extent.height,
    Math.sqrt(PNG_MAX_PIXELS / (extent.width * extent.height)),
  );
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(extent.width * scale));
  canvas.height = Math.max(1, Math.round(extent.height * scale));
  const context = canvas.getContext("2d");
  context.fillStyle = getComputedStyle(svg).backgroundColor;
  context.fillRect(0, 0, canvas.width, canvas.height);
  const base = new DOMMatrix().scale(scale).translate(-extent.x, -extent.y);
  for (const child of svg.children) paintElement(context, child, base, 1);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("The canvas made no PNG."))), "image/png"),
  );
}

/** Saves `blob` as a file named `name` (the browser's download). */
export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the blob goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
