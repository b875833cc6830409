// The browser half of mnistlib.drawpad.DrawPad (an anywidget ES module; no build step, no CDN).
// It draws strokes on a canvas and, when the pen is lifted, sends them to Python (traitlets
// `strokes`, `pen_width`, `seq`). Python renders, prepares and predicts, then sets the answer traitlets
// (`preview`, `probabilities`, `answer`, ..., `answered_seq` last) that this module draws.

const INK = "#141414";
const PAPER = "#ffffff";

function el(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function render({ model, el: host }) {
  const W = model.get("width");
  const H = model.get("height");
  const root = el("div", "mnistlib-drawpad", host);

  // left: the canvas and its controls
  const left = el("div", "drawpad-left", root);
  const canvas = el("canvas", "drawpad-canvas", left);
  canvas.setAttribute("aria-label", "Draw one digit here");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.width = W + "px";
  canvas.style.height = H + "px";
  const ctx = canvas.getContext("2d");
  const controls = el("div", "drawpad-controls", left);
  const undoButton = el("button", "drawpad-undo", controls, "Undo");
  const clearButton = el("button", "drawpad-clear", controls, "Clear");
  const penLabel = el("label", "drawpad-pen", controls, "pen ");
  const pen = el("input", "drawpad-pen-width", penLabel);
  pen.type = "range";
  pen.min = "4";
  pen.max = "48";
  pen.step = "1";
  pen.value = String(model.get("pen_width"));
  pen.title = "pen width (px)";
  const penValue = el("span", "drawpad-pen-value", penLabel, pen.value + " px");

  // right: what the model sees and what it answers
  const right = el("div", "drawpad-right", root);
  el("div", "drawpad-caption", right, "the model sees (28×28)");
  const preview = el("canvas", "drawpad-preview", right);
  preview.width = 28;
  preview.height = 28;
  const pctx = preview.getContext("2d");
  const answer = el("div", "drawpad-answer", right);
  const note = el("div", "drawpad-note", right);
  const bars = el("div", "drawpad-bars", right);
  const rows = [];
  for (let d = 0; d < 10; d++) {
    const row = el("div", "drawpad-bar-row", bars);
    el("span", "drawpad-bar-digit", row, String(d));
    const track = el("span", "drawpad-bar-track", row);
    const fill = el("span", "drawpad-bar-fill", track);
    const value = el("span", "drawpad-bar-value", row, "");
    rows.push({ row, fill, value });
  }
  const status = el("div", "drawpad-status", right);

  let strokes = (model.get("strokes") || []).map((s) => s.map((p) => [p[0], p[1]]));
  let current = null;
  let background = null;
  const sentAt = new Map(); // seq -> performance.now() when the drawing was sent
  let lastLatency = null; // [seq, ms from pointerup to this answer drawn]

  function drawStroke(stroke, width) {
    if (stroke.length === 1) {
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], width / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (let i = 1; i < stroke.length; i++) ctx.lineTo(stroke[i][0], stroke[i][1]);
    ctx.stroke();
  }

  function redraw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = PAPER; // opaque white paper: the canvas is never read as transparent
    ctx.fillRect(0, 0, W, H);
    if (background && background.complete && background.naturalWidth) {
      const s = Math.min(W / background.naturalWidth, H / background.naturalHeight);
      const w = background.naturalWidth * s;
      const h = background.naturalHeight * s;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(background, (W - w) / 2, (H - h) / 2, w, h);
    }
    const width = Number(model.get("pen_width"));
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of strokes) drawStroke(s, width);
  }

  function loadBackground() {
    const url = model.get("background");
    if (!url) {
      background = null;
      redraw();
      return;
    }
    const img = new Image();
    img.onload = () => {
      if (model.get("background") === url) {
        background = img;
        redraw();
      }
    };
    img.src = url;
  }

  function send() {
    const seq = model.get("seq") + 1;
    sentAt.set(seq, performance.now());
    root.dataset.seq = String(seq);
    status.textContent = "thinking…";
    model.set("strokes", strokes.map((s) => s.map((p) => [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10])));
    model.set("pen_width", Number(pen.value));
    model.set("seq", seq);
    model.save_changes();
  }

  function point(event) {
    const r = canvas.getBoundingClientRect();
    return [((event.clientX - r.left) * W) / r.width, ((event.clientY - r.top) * H) / r.height];
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (model.get("background")) {
      // drawing on a picture given by set_image starts a new drawing
      model.set("background", "");
      background = null;
      strokes = [];
    }
    current = [point(event)];
    strokes.push(current);
    redraw();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) current.push(point(e));
    redraw();
  });
  const finish = (event) => {
    if (!current) return;
    event.preventDefault();
    current = null;
    send();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  undoButton.addEventListener("click", () => {
    if (model.get("background")) {
      model.set("background", "");
      background = null;
    } else {
      strokes.pop();
    }
    redraw();
    send();
  });
  clearButton.addEventListener("click", () => {
    strokes = [];
    model.set("background", "");
    background = null;
    redraw();
    send();
  });
  pen.addEventListener("input", () => {
    penValue.textContent = pen.value + " px";
    model.set("pen_width", Number(pen.value));
    redraw();
  });
  pen.addEventListener("change", () => send());

  function showAnswer() {
    const seq = model.get("answered_seq");
    const text = model.get("answer");
    const reason = model.get("reason");
    answer.textContent = text;
    answer.dataset.reason = reason;
    root.dataset.answer = text;
    root.dataset.answeredSeq = String(seq);
    // the 28x28 image the model sees: light ink on black, as in MNIST
    const pixels = model.get("preview") || [];
    const data = pctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = pixels[i] || 0;
      data.data[4 * i] = v;
      data.data[4 * i + 1] = v;
      data.data[4 * i + 2] = v;
      data.data[4 * i + 3] = 255;
    }
    pctx.putImageData(data, 0, 0);
    preview.dataset.ink = String(model.get("ink"));
    const probs = model.get("probabilities") || [];
    const digit = model.get("digit");
    let best = -1;
    probs.forEach((p, d) => {
      if (best < 0 || p > probs[best]) best = d;
    });
    rows.forEach(({ row, fill, value }, d) => {
      const p = probs.length ? probs[d] : 0;
      fill.style.width = (100 * p).toFixed(1) + "%";
      value.textContent = probs.length ? (100 * p).toFixed(0) + "%" : "";
      row.classList.toggle("drawpad-best", d === best);
      row.classList.toggle("drawpad-answered", d === digit);
    });
    note.textContent = digit === null && probs.length ? `the ten outputs alone would say ${best} (grey bar)` : "";
    const error = model.get("error");
    if (sentAt.has(seq)) {
      lastLatency = [seq, performance.now() - sentAt.get(seq)];
      sentAt.delete(seq);
      root.dataset.latencyMs = lastLatency[1].toFixed(1);
    }
    let line = "";
    if (error) line = error;
    else if (lastLatency && lastLatency[0] === seq) line = `answered in ${lastLatency[1].toFixed(0)} ms`;
    else if (model.get("compute_ms")) line = `answered in ${model.get("compute_ms").toFixed(0)} ms (in Python)`;
    status.textContent = line;
  }

  model.on("change:answered_seq", showAnswer);
  model.on("change:answer", showAnswer);
  model.on("change:strokes", () => {
    if (current) return; // the pen is down: keep the stroke being drawn
    strokes = (model.get("strokes") || []).map((s) => s.map((p) => [p[0], p[1]]));
    redraw();
  });
  model.on("change:pen_width", () => {
    pen.value = String(model.get("pen_width"));
    penValue.textContent = pen.value + " px";
    redraw();
  });
  model.on("change:background", loadBackground);
  model.on("change:seq", () => {
    root.dataset.seq = String(model.get("seq"));
  });

  root.dataset.seq = String(model.get("seq"));
  loadBackground();
  redraw();
  showAnswer();
  return () => {
    model.off("change:answered_seq", showAnswer);
    model.off("change:answer", showAnswer);
  };
}

export default { render };
