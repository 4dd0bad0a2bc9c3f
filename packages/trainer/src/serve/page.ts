// The drawing page served at `/`: a canvas to draw a digit with mouse, pen or finger; it posts the
// drawing as PNG to /predict and shows the probabilities.

/** HTML of the drawing page. */
export const DRAWING_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Digit classifier</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  main { display: flex; gap: 2rem; flex-wrap: wrap; }
  canvas { border: 1px solid #888; border-radius: 4px; touch-action: none; cursor: crosshair; background: #fff; }
  button { margin: .5rem .5rem 0 0; padding: .4rem 1rem; font-size: 1rem; }
  #result { font-size: 1.4rem; min-height: 2rem; }
  .bar { display: flex; align-items: center; gap: .5rem; font-family: monospace; }
  .bar span.fill { display: inline-block; height: .8rem; background: #1f77b4; }
  .low { color: #c00; }
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
    <div id="result" aria-live="polite">draw a digit 0–9</div>
    <div id="bars"></div>
    <p id="model"></p>
  </div>
</main>
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
  document.getElementById('clear').onclick = () => { reset(); document.getElementById('result').textContent = 'draw a digit 0–9'; document.getElementById('bars').innerHTML = ''; };
  document.getElementById('predict').onclick = () => predict();
  async function predict() {
    const result = document.getElementById('result');
    const res = await fetch('predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: pad.toDataURL('image/png') }) });
    const body = await res.json();
    if (!res.ok) { result.textContent = body.error; result.className = 'low'; return; }
    result.textContent = 'prediction: ' + body.prediction + ' (' + (100 * body.confidence).toFixed(1) + '%)' + (body.lowConfidence ? ' — low confidence' : '');
    result.className = body.lowConfidence ? 'low' : '';
    result.dataset.prediction = String(body.prediction);
    document.getElementById('bars').innerHTML = body.probabilities.map((p, k) =>
      '<div class="bar">' + k + ' <span class="fill" style="width:' + Math.round(200 * p) + 'px"></span> ' + (100 * p).toFixed(1) + '%</div>').join('');
  }
  fetch('model').then((r) => r.json()).then((m) => { document.getElementById('model').textContent = 'model: ' + m.architecture + ', ' + m.parameters + ' parameters, backend ' + m.backend; });
</script>
</body>
</html>
`;
