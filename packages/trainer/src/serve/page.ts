// The drawing page served at `/`: a canvas to draw a digit with mouse, pen or finger; it posts the
// drawing as a PNG data URL to /predict-drawing and shows the digit and the ten probabilities as bars.
// Self-contained (no external script, style or font), so it works offline.

/** HTML of the drawing page. */
export const DRAWING_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Digit classifier</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  main { display: flex; gap: 2.5rem; flex-wrap: wrap; }
  canvas { border: 1px solid #888; border-radius: 4px; touch-action: none; cursor: crosshair; background: #fff; }
  button { margin: .5rem .5rem 0 0; padding: .4rem 1rem; font-size: 1rem; }
  #result { font-size: 1.4rem; min-height: 2rem; }
  #digit { font-size: 4rem; font-weight: 700; line-height: 1; min-height: 4rem; }
  .bar { display: flex; align-items: center; gap: .5rem; font-family: monospace; height: 1.4rem; }
  .bar .track { display: inline-block; width: 220px; height: .9rem; background: #eee; border-radius: 2px; }
  .bar .fill { display: block; height: 100%; background: #1f77b4; border-radius: 2px; }
  .bar.top .fill { background: #2ca02c; }
  .low { color: #c00; }
  footer { margin-top: 1.5rem; color: #666; font-size: .9rem; }
  footer a { color: #1f77b4; }
</style>
</head>
<body>
<h1>Draw a digit</h1>
<main>
  <div>
    <canvas id="pad" width="280" height="280" aria-label="drawing area"></canvas><br>
    <button id="predict">Predict</button><button id="clear">Clear</button>
  </div>
  <div>
    <div id="digit" aria-hidden="true"></div>
    <div id="result" aria-live="polite">draw a digit 0–9</div>
    <div id="bars"></div>
  </div>
</main>
<footer><span id="model"></span> · <a href="docs">API docs</a> · <a href="redoc">ReDoc</a> · <a href="metrics">metrics</a></footer>
<script>
  const pad = document.getElementById('pad');
  const ctx = pad.getContext('2d');
  function reset() { ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, pad.width, pad.height); }
  reset();
  ctx.lineWidth = 18; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#000';
  let drawing = false;
  function pos(e) { const r = pad.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
  pad.addEventListener('pointerdown', (e) => { drawing = true; const [x, y] = pos(e); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 0.1, y); ctx.stroke(); });
  pad.addEventListener('pointermove', (e) => { if (!drawing) return; const [x, y] = pos(e); ctx.lineTo(x, y); ctx.stroke(); });
  window.addEventListener('pointerup', () => { if (drawing) { drawing = false; predict(); } });
  const result = document.getElementById('result');
  const digit = document.getElementById('digit');
  const bars = document.getElementById('bars');
  document.getElementById('clear').onclick = () => { reset(); result.textContent = 'draw a digit 0–9'; result.className = ''; delete result.dataset.prediction; digit.textContent = ''; bars.innerHTML = ''; };
  document.getElementById('predict').onclick = () => predict();
  async function predict() {
    const res = await fetch('predict-drawing', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: pad.toDataURL('image/png') }) });
    const body = await res.json();
    if (!res.ok) { result.textContent = body.message; result.className = 'low'; digit.textContent = ''; bars.innerHTML = ''; return; }
    digit.textContent = String(body.prediction);
    result.textContent = 'prediction: ' + body.prediction + ' (' + (100 * body.confidence).toFixed(1) + '%)' + (body.low_confidence ? ' — low confidence' : '');
    result.className = body.low_confidence ? 'low' : '';
    result.dataset.prediction = String(body.prediction);
    bars.innerHTML = body.probabilities.map((p, k) =>
      '<div class="bar' + (k === body.prediction ? ' top' : '') + '" data-class="' + k + '" data-probability="' + p + '">' + k +
      ' <span class="track"><span class="fill" style="width:' + (100 * p).toFixed(1) + '%"></span></span> ' + (100 * p).toFixed(1) + '%</div>').join('');
  }
  fetch('model-info').then((r) => r.json()).then((m) => { document.getElementById('model').textContent = 'model: ' + m.name + ', ' + m.parameters + ' parameters, backend ' + m.backend; });
</script>
</body>
</html>
`;
