/* Line charts on a canvas, no library: draw(canvas, series, options).
   series: [{name, color, points: [[unixSeconds, value], ...]}]. */
"use strict";
(function () {
  function niceMax(value) {
    if (value <= 0) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * power) return step * power;
    }
    return 10 * power;
  }

  function compact(value) {
    if (value >= 1e6) return (value / 1e6).toFixed(value >= 1e7 ? 0 : 1) + "M";
    if (value >= 1e3) return (value / 1e3).toFixed(value >= 1e4 ? 0 : 1) + "k";
    return String(Math.round(value));
  }

  function clock(seconds) {
    const d = new Date(seconds * 1000);
    return d.toTimeString().slice(0, 8);
  }

  function draw(canvas, series, options) {
    options = options || {};
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || canvas.width;
    const height = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const pad = { left: 44, right: 10, top: 8, bottom: 22 };
    const w = width - pad.left - pad.right;
    const h = height - pad.top - pad.bottom;
    let t0 = Infinity, t1 = -Infinity, top = 0;
    for (const s of series) {
      for (const [t, v] of s.points) {
        if (t < t0) t0 = t;
        if (t > t1) t1 = t;
        if (v > top) top = v;
      }
    }
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#8b93a7";
    ctx.strokeStyle = "#262b36";
    ctx.lineWidth = 1;
    if (!isFinite(t0)) {
      ctx.fillText(options.empty || "no samples yet", pad.left, pad.top + h / 2);
      return;
    }
    if (t1 - t0 < 1) t1 = t0 + 1;
    const ymax = niceMax(top);
    const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * w;
    const y = (v) => pad.top + h - (v / ymax) * h;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, Math.round(y(v)) + 0.5);
      ctx.lineTo(pad.left + w, Math.round(y(v)) + 0.5);
      ctx.stroke();
      ctx.fillText(compact(v), pad.left - 6, y(v));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let i = 0; i <= 3; i++) {
      const t = t0 + ((t1 - t0) * i) / 3;
      ctx.fillText(clock(t), Math.min(Math.max(x(t), pad.left + 24), pad.left + w - 24), pad.top + h + 6);
    }
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    for (const s of series) {
      if (!s.points.length) continue;
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      s.points.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
      ctx.stroke();
      if (s.points.length === 1) {
        const [t, v] = s.points[0];
        ctx.fillStyle = s.color;
        ctx.fillRect(x(t) - 2, y(v) - 2, 4, 4);
      }
    }
  }

  window.FastliveChart = { draw: draw, compact: compact };
})();
