/**
 * The nladmm web demo: Algorithm 1 on navigator.gpu through WebGpuBackend, or on the CPU backend when WebGPU is
 * absent (or `?backend=cpu`). The latest numbers are kept in the DOM with stable hooks for tests:
 *   body[data-ready="true"][data-backend="webgpu"|"cpu"]          once the page is initialised
 *   #status[data-state="ready"|"running"|"stopping"|"stopped"|"done"|"error"]
 *   output[data-metric="iteration"|"augmentedLagrangian"|"gradNorm"|…][data-value]   full-precision values
 *   #result-table td[data-result="…"][data-value]                  the final numbers of a run
 *   #backend-notice (visible when falling back to the CPU), #adapter-info dd[data-adapter="…"]
 */
import { type ActivationRegistry, type Backend, type TrainResult, Trainer, type TrainingData, type TrainingProgress } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';
import { WebGpuBackend } from '@nladmm/webgpu-backend';
import { LineChart } from './charts.ts';
import { type BrowserGpu, requestBrowserGpu } from './gpu.ts';
import {
  type DemoSettings,
  type FashionMnistSubset,
  TASKS,
  type TaskName,
  admmConfig,
  decodeSubset,
  fashionMnistData,
  parseLayers,
  syntheticData,
} from './tasks.ts';

// ---- small DOM helpers ----

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const el = {
  task: byId<HTMLSelectElement>('task'),
  samples: byId<HTMLInputElement>('samples'),
  layers: byId<HTMLInputElement>('layers'),
  activation: byId<HTMLSelectElement>('activation'),
  beta: byId<HTMLInputElement>('beta'),
  lambda: byId<HTMLInputElement>('lambda'),
  iterations: byId<HTMLInputElement>('iterations'),
  metricsEvery: byId<HTMLInputElement>('metrics-every'),
  stepRule: byId<HTMLSelectElement>('step-rule'),
  init: byId<HTMLSelectElement>('init'),
  initScale: byId<HTMLInputElement>('init-scale'),
  seed: byId<HTMLInputElement>('seed'),
  form: byId<HTMLFormElement>('config'),
  start: byId<HTMLButtonElement>('start'),
  stop: byId<HTMLButtonElement>('stop'),
  resume: byId<HTMLButtonElement>('resume'),
  pluginUrl: byId<HTMLInputElement>('plugin-url'),
  loadPlugin: byId<HTMLButtonElement>('load-plugin'),
  pluginStatus: byId<HTMLElement>('plugin-status'),
  notice: byId<HTMLElement>('backend-notice'),
  error: byId<HTMLElement>('error'),
  backendName: byId<HTMLElement>('backend-name'),
  backendDesc: byId<HTMLElement>('backend-desc'),
  adapterInfo: byId<HTMLElement>('adapter-info'),
  status: byId<HTMLElement>('status'),
  resultTable: byId<HTMLTableElement>('result-table'),
  resultsEmpty: byId<HTMLElement>('results-empty'),
  log: byId<HTMLElement>('log'),
};

/** A number for people: 5 significant digits, exponent notation outside [1e-3, 1e5). */
export function formatNumber(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(4) : String(Number(v.toPrecision(5)));
}

const percent = (v: number | undefined): string => (v === undefined ? '–' : `${(100 * v).toFixed(2)} %`);

/** Writes a metric into every element that shows it: text for people, data-value with full precision. */
function setMetric(name: string, value: number | undefined, text = formatNumber(value)): void {
  for (const node of Array.from(document.querySelectorAll<HTMLElement>(`[data-metric="${name}"]`))) {
    node.textContent = text;
    if (value === undefined) node.removeAttribute('data-value');
    else node.dataset.value = String(value);
  }
}

type State = 'loading' | 'ready' | 'running' | 'stopping' | 'stopped' | 'done' | 'error';

function setStatus(state: State, text: string): void {
  el.status.dataset.state = state;
  el.status.textContent = text;
}

function showError(message: string | undefined): void {
  el.error.hidden = message === undefined;
  el.error.textContent = message ?? '';
}

function log(message: string): void {
  const item = document.createElement('li');
  item.textContent = message;
  el.log.append(item);
  while (el.log.childElementCount > 30) el.log.firstElementChild?.remove();
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---- backend ----

interface ChosenBackend {
  readonly backend: Backend;
  readonly kind: 'webgpu' | 'cpu';
  readonly gpu?: BrowserGpu;
  readonly notice?: string;
}

const params = new URLSearchParams(location.search);

async function chooseBackend(): Promise<ChosenBackend> {
  if (params.get('backend') === 'cpu') {
    return {
      backend: new CpuBackend(),
      kind: 'cpu',
      notice: 'CPU backend requested with ?backend=cpu: training runs in JavaScript (f64) on this page, not on the GPU.',
    };
  }
  try {
    const gpu = await requestBrowserGpu();
    const backend = await WebGpuBackend.create({ device: gpu.device, adapterInfo: gpu.info });
    return { backend, kind: 'webgpu', gpu };
  } catch (err) {
    return {
      backend: new CpuBackend(),
      kind: 'cpu',
      notice:
        `WebGPU is not available (${errorText(err)}). Falling back to the CPU backend: JavaScript (f64) on this page, ` +
        'much slower. Chrome/Edge 113+ have WebGPU; on Linux start Chrome/Chromium with --enable-unsafe-webgpu --enable-features=Vulkan.',
    };
  }
}

function showDevice(chosen: ChosenBackend): void {
  el.backendName.textContent = chosen.kind === 'webgpu' ? 'WebGPU' : 'CPU';
  el.backendName.dataset.backend = chosen.kind;
  el.backendDesc.textContent = chosen.backend.describe();
  document.body.dataset.backend = chosen.kind;
  if (chosen.notice) {
    el.notice.hidden = false;
    el.notice.textContent = chosen.notice;
    el.notice.dataset.backend = chosen.kind;
  }
  const facts: [string, string, string][] = [];
  if (chosen.gpu) {
    const { info } = chosen.gpu;
    facts.push(
      ['vendor', 'vendor', info.vendor || '(not reported)'],
      ['architecture', 'architecture', info.architecture || '(not reported)'],
      ['device', 'device', info.device || '(not reported)'],
      ['description', 'description', info.description || '(not reported)'],
      ['software', 'software adapter', info.isSoftware ? `yes${info.isFallbackAdapter ? ' (fallback adapter)' : ''}` : 'no'],
      ['maxStorageBufferBindingSize', 'max storage binding', `${(info.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`],
      ['maxComputeWorkgroupStorageSize', 'workgroup memory', `${(info.limits.maxComputeWorkgroupStorageSize / 1024).toFixed(0)} KiB`],
      ['features', 'features', info.features.join(', ') || 'none'],
    );
  } else {
    facts.push(
      ['engine', 'engine', 'JavaScript on the main thread, f64'],
      ['cores', 'logical cores', String(navigator.hardwareConcurrency ?? '?')],
      ['webgpu', 'navigator.gpu', 'gpu' in navigator ? 'present' : 'absent'],
    );
  }
  el.adapterInfo.replaceChildren();
  for (const [key, label, value] of facts) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.dataset.adapter = key;
    dd.textContent = value;
    el.adapterInfo.append(dt, dd);
  }
}

// ---- form ----

function fillForm(s: DemoSettings): void {
  el.task.value = s.task;
  el.samples.value = String(s.samples);
  el.layers.value = s.layers.join(', ');
  if (Array.from(el.activation.options).some((o) => o.value === s.activation)) el.activation.value = s.activation;
  el.beta.value = String(s.beta);
  el.lambda.value = String(s.lambda);
  el.iterations.value = String(s.iterations);
  el.metricsEvery.value = String(s.metricsEvery);
  el.stepRule.value = s.stepRule;
  el.init.value = s.init;
  el.initScale.value = String(s.initScale);
  el.seed.value = String(s.seed);
}

function positive(name: string, input: HTMLInputElement, integer: boolean): number {
  const v = Number(input.value);
  if (!(Number.isFinite(v) && v > 0) || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${name} must be a ${integer ? 'positive integer' : 'number > 0'}, got "${input.value}"`);
  }
  return v;
}

function readSettings(): DemoSettings {
  const task = el.task.value as TaskName;
  const info = TASKS[task];
  const layers = parseLayers(el.layers.value);
  if (layers[0] !== info.inputs || layers[layers.length - 1] !== info.outputs) {
    throw new RangeError(`layers: the ${task} task needs d_0 = ${info.inputs} and d_N = ${info.outputs}, got ${layers.join(', ')}`);
  }
  const seed = Number(el.seed.value);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got "${el.seed.value}"`);
  return {
    task,
    samples: positive('samples', el.samples, true),
    layers,
    activation: el.activation.value,
    beta: positive('β', el.beta, false),
    lambda: positive('λ', el.lambda, false),
    iterations: positive('iterations', el.iterations, true),
    metricsEvery: positive('metrics every', el.metricsEvery, true),
    stepRule: el.stepRule.value === 'authors' ? 'authors' : 'paper',
    init: el.init.value as DemoSettings['init'],
    initScale: positive('init scale', el.initScale, false),
    seed,
  };
}

function refreshActivations(registry: ActivationRegistry, select?: string): void {
  const current = select ?? el.activation.value;
  el.activation.replaceChildren(
    ...registry.names().map((name) => {
      const act = registry.get(name);
      const option = document.createElement('option');
      option.value = name;
      option.textContent = act.satisfiesAssumption1 ? name : `${name} (outside Assumption 1)`;
      return option;
    }),
  );
  if (registry.has(current)) el.activation.value = current;
}

// ---- data ----

let subsetPromise: Promise<FashionMnistSubset> | undefined;

function loadSubset(): Promise<FashionMnistSubset> {
  subsetPromise ??= (async () => {
    const response = await fetch('data/fashion-mnist-subset.bin');
    if (!response.ok) throw new Error(`data/fashion-mnist-subset.bin: HTTP ${response.status} (was the demo built with the Debian package dataset-fashion-mnist installed?)`);
    return decodeSubset(await response.arrayBuffer());
  })();
  subsetPromise.catch(() => (subsetPromise = undefined));
  return subsetPromise;
}

async function trainingData(s: DemoSettings): Promise<TrainingData> {
  if (s.task === 'fashion-mnist') {
    const subset = await loadSubset();
    if (s.samples > subset.train.count) throw new RangeError(`samples: the subset holds ${subset.train.count} training images, asked for ${s.samples}`);
    return fashionMnistData(subset, s.samples);
  }
  return syntheticData(s.task, s.samples, s.seed);
}

/** Whether the build wrote the Fashion-MNIST subset (data/manifest.json says so). */
async function fashionMnistAvailable(): Promise<{ train: number; test: number } | undefined> {
  try {
    const response = await fetch('data/manifest.json');
    if (!response.ok) return undefined;
    const manifest = (await response.json()) as { fashionMnist?: { train: number; test: number } | null };
    return manifest.fashionMnist ?? undefined;
  } catch {
    return undefined;
  }
}

// ---- charts and results ----

const charts = {
  lagrangian: new LineChart(byId<HTMLCanvasElement>('chart-lagrangian'), {
    title: 'Augmented Lagrangian 𝓛(Qᵏ)',
    series: [
      { name: '𝓛', color: '#2457c5' },
      { name: 'objective (5)', color: '#9c6ade', dashed: true },
    ],
    scale: 'auto',
    emptyText: 'press Start',
  }),
  grad: new LineChart(byId<HTMLCanvasElement>('chart-grad'), {
    title: '‖∇𝓛(Qᵏ)‖ and the step ‖Qᵏ − Qᵏ⁻¹‖',
    series: [
      { name: '‖∇𝓛‖', color: '#d64545' },
      { name: '‖Qᵏ − Qᵏ⁻¹‖', color: '#e8871e', dashed: true },
    ],
    scale: 'log',
    emptyText: 'press Start',
  }),
  accuracy: new LineChart(byId<HTMLCanvasElement>('chart-accuracy'), {
    title: 'Accuracy',
    series: [
      { name: 'train', color: '#1f7a4d' },
      { name: 'test', color: '#0f609b', dashed: true },
    ],
    scale: 'linear',
    yRange: [0, 1],
    emptyText: 'press Start',
  }),
};

let classification = false;

function resetView(s: DemoSettings): void {
  classification = s.task === 'fashion-mnist';
  for (const chart of Object.values(charts)) chart.reset();
  if (classification) charts.accuracy.retitle({ title: 'Accuracy (train, test)', scale: 'linear', yRange: [0, 1] });
  else charts.accuracy.retitle({ title: 'Network loss ½n⁻¹‖Φ(X) − Y‖² (regression)', scale: 'log', yRange: undefined });
  for (const node of Array.from(document.querySelectorAll<HTMLElement>('[data-metric]'))) {
    node.textContent = '–';
    node.removeAttribute('data-value');
  }
  setMetric('iteration', 0, '0');
  el.resultTable.hidden = true;
  el.resultsEmpty.hidden = false;
  el.resultTable.tBodies[0].replaceChildren();
  showError(undefined);
}

function showMetrics(m: TrainingProgress): void {
  setMetric('metricsIteration', m.iteration, String(m.iteration));
  setMetric('augmentedLagrangian', m.augmentedLagrangian);
  setMetric('objective', m.objective);
  setMetric('gradNorm', m.gradNorm);
  setMetric('trainLoss', m.trainLoss);
  setMetric('testLoss', m.testLoss);
  setMetric('trainAccuracy', m.trainAccuracy, percent(m.trainAccuracy));
  setMetric('testAccuracy', m.testAccuracy, percent(m.testAccuracy));
  setMetric('runningMeanGradSq', m.runningMeanGradSq);
  setMetric('stepNorm', m.stepNorm);
  setMetric('msPerIteration', m.msPerIteration, Number.isFinite(m.msPerIteration) ? m.msPerIteration.toFixed(1) : '–');
  const k = m.iteration;
  charts.lagrangian.push(0, k, m.augmentedLagrangian);
  charts.lagrangian.push(1, k, m.objective);
  charts.grad.push(0, k, m.gradNorm);
  charts.grad.push(1, k, m.stepNorm);
  if (classification) {
    charts.accuracy.push(0, k, m.trainAccuracy);
    charts.accuracy.push(1, k, m.testAccuracy);
  } else {
    charts.accuracy.push(0, k, m.trainLoss);
    charts.accuracy.push(1, k, m.testLoss);
  }
  for (const chart of Object.values(charts)) chart.draw();
}

function showResult(result: TrainResult, backend: Backend, wallMs: number): void {
  const f = result.final;
  const rows: [string, string, number | undefined, string][] = [
    ['reason', 'stopped because', undefined, { iterations: 'iterations done', tolerance: '‖∇𝓛‖ below tolerance', time: 'time limit', cancelled: 'stopped by the user' }[result.reason]],
    ['iterations', 'iterations', result.iterations, String(result.iterations)],
    ['augmentedLagrangian', 'augmented Lagrangian 𝓛', f.augmentedLagrangian, formatNumber(f.augmentedLagrangian)],
    ['objective', 'objective (5)', f.objective, formatNumber(f.objective)],
    ['gradNorm', '‖∇𝓛(Qᵏ)‖', f.gradNorm, formatNumber(f.gradNorm)],
    ['runningMeanGradSq', '(1/K) Σ ‖∇𝓛(Qᵏ)‖² (Theorem 1c)', f.runningMeanGradSq, formatNumber(f.runningMeanGradSq)],
    ['trainLoss', 'final network loss (train)', f.trainLoss, formatNumber(f.trainLoss)],
    ['testLoss', 'final network loss (test)', f.testLoss, formatNumber(f.testLoss)],
    ['trainAccuracy', 'train accuracy', f.trainAccuracy, percent(f.trainAccuracy)],
    ['testAccuracy', 'test accuracy', f.testAccuracy, percent(f.testAccuracy)],
    ['residuals', 'constraint residuals ‖r_i‖', undefined, f.residuals.map(formatNumber).join(', ')],
    ['msPerIteration', 'ms per iteration', f.msPerIteration, Number.isFinite(f.msPerIteration) ? f.msPerIteration.toFixed(2) : '–'],
    ['wallMs', 'wall time of this run (ms)', wallMs, wallMs.toFixed(0)],
    ['backend', 'backend', undefined, backend.describe()],
  ];
  const body = el.resultTable.tBodies[0];
  body.replaceChildren();
  for (const [key, label, value, text] of rows) {
    if (text === '–' && value === undefined && key !== 'reason') continue;
    const tr = document.createElement('tr');
    const th = document.createElement('td');
    th.textContent = label;
    const td = document.createElement('td');
    td.dataset.result = key;
    if (value !== undefined) td.dataset.value = String(value);
    td.textContent = text;
    tr.append(th, td);
    body.append(tr);
  }
  setMetric('finalLoss', f.trainLoss);
  el.resultTable.hidden = false;
  el.resultsEmpty.hidden = true;
}

// ---- training ----

async function main(): Promise<void> {
  const registry = createDefaultRegistry();
  refreshActivations(registry, 'sigmoid');
  fillForm(TASKS.product.defaults);
  setStatus('loading', 'looking for a WebGPU adapter…');
  const chosen = await chooseBackend();
  const { backend } = chosen;
  showDevice(chosen);
  chosen.gpu?.device.lost.then((info) => {
    if (info.reason !== 'destroyed') showError(`The GPU device was lost (${info.message || info.reason}); reload the page.`);
  });

  const fashion = await fashionMnistAvailable();
  const fashionOption = Array.from(el.task.options).find((o) => o.value === 'fashion-mnist');
  if (fashionOption) {
    if (fashion) fashionOption.textContent = `Fashion-MNIST subset (${fashion.train} train / ${fashion.test} test images)`;
    else {
      fashionOption.disabled = true;
      fashionOption.textContent = 'Fashion-MNIST subset (not built: install dataset-fashion-mnist and rebuild)';
    }
  }

  let trainer: Trainer | undefined;
  let controller: AbortController | undefined;
  let running = false;
  let target = 0;

  const updateButtons = (): void => {
    el.start.disabled = running;
    el.stop.disabled = !running;
    el.resume.disabled = running || trainer === undefined;
    el.loadPlugin.disabled = running;
  };

  const run = async (): Promise<void> => {
    if (!trainer) return;
    const current = trainer;
    const metricsEvery = positive('metrics every', el.metricsEvery, true);
    running = true;
    controller = new AbortController();
    updateButtons();
    setStatus('running', `training… iteration ${current.solver.iteration} / ${target}`);
    const started = performance.now();
    try {
      const result = await current.run({ maxIterations: target, signal: controller.signal, metricsEvery });
      showResult(result, backend, performance.now() - started);
      if (result.reason === 'cancelled') setStatus('stopped', `stopped at iteration ${result.iterations}; Resume continues the same run`);
      else setStatus('done', `done: ${result.iterations} iterations (${result.reason})`);
    } catch (err) {
      showError(`Training failed: ${errorText(err)}`);
      setStatus('error', 'error');
    } finally {
      running = false;
      controller = undefined;
      updateButtons();
    }
  };

  const start = async (): Promise<void> => {
    if (running) return;
    let settings: DemoSettings;
    try {
      settings = readSettings();
    } catch (err) {
      showError(errorText(err));
      return;
    }
    running = true;
    updateButtons();
    trainer?.dispose();
    trainer = undefined;
    resetView(settings);
    setStatus('running', 'preparing the data and the first iterate…');
    try {
      const data = await trainingData(settings);
      trainer = await Trainer.create(backend, data, admmConfig(settings, registry.get(settings.activation)));
    } catch (err) {
      running = false;
      updateButtons();
      showError(`Could not start: ${errorText(err)}`);
      setStatus('error', 'error');
      return;
    }
    const t = trainer;
    t.events.on('iteration', ({ iteration }) => {
      setMetric('iteration', iteration, String(iteration));
      if (el.status.dataset.state === 'running') setStatus('running', `training… iteration ${iteration} / ${target}`);
      // The trainer yields to the event loop after each iteration (core's yieldToEventLoop): input and paint run.
    });
    t.events.on('metrics', (m) => showMetrics(m));
    const warned = new Set<string>();
    t.events.on('warning', (w) => {
      if (!warned.has(w)) log(`warning: ${w}`);
      warned.add(w);
    });
    log(`start: ${settings.task}, layers ${settings.layers.join('-')}, ${settings.activation}, β = ${settings.beta}, λ = ${settings.lambda}, ${settings.iterations} iterations on ${chosen.kind}`);
    target = settings.iterations;
    running = false;
    await run();
  };

  el.form.addEventListener('submit', (event) => {
    event.preventDefault();
    void start();
  });
  el.stop.addEventListener('click', () => {
    if (!controller) return;
    controller.abort();
    setStatus('stopping', 'stopping after the current iteration…');
  });
  el.resume.addEventListener('click', () => {
    if (!trainer || running) return;
    let wanted: number;
    try {
      wanted = positive('iterations', el.iterations, true);
    } catch (err) {
      showError(errorText(err));
      return;
    }
    if (wanted <= trainer.solver.iteration) {
      showError(`The run is at iteration ${trainer.solver.iteration}: raise “Iterations” above it to continue.`);
      return;
    }
    showError(undefined);
    target = wanted;
    log(`resume at iteration ${trainer.solver.iteration} towards ${target}`);
    void run();
  });
  el.task.addEventListener('change', () => {
    const task = el.task.value as TaskName;
    fillForm({ ...TASKS[task].defaults, ...(fashion && task === 'fashion-mnist' ? { samples: Math.min(TASKS[task].defaults.samples, fashion.train) } : {}) });
  });
  el.loadPlugin.addEventListener('click', async () => {
    const url = el.pluginUrl.value.trim();
    if (!url) return;
    el.pluginStatus.dataset.state = 'loading';
    el.pluginStatus.textContent = `loading ${url}…`;
    try {
      const href = new URL(url, location.href).href;
      const act = await registry.registerModule(href, url);
      await backend.prepareActivation(act);
      refreshActivations(registry, act.name);
      el.pluginStatus.dataset.state = 'ok';
      el.pluginStatus.dataset.activation = act.name;
      el.pluginStatus.textContent = `loaded '${act.name}' (L0 = ${formatNumber(act.bounds.L0)}, L1 = ${formatNumber(act.bounds.L1)}, L2 = ${formatNumber(act.bounds.L2)}${act.satisfiesAssumption1 ? '' : ', outside Assumption 1'}); selected`;
      log(`plugin ${url}: activation '${act.name}' registered`);
    } catch (err) {
      el.pluginStatus.dataset.state = 'error';
      el.pluginStatus.textContent = errorText(err);
    }
  });
  window.addEventListener('resize', () => {
    for (const chart of Object.values(charts)) chart.draw();
  });
  window.addEventListener('pagehide', () => {
    controller?.abort();
    trainer?.dispose();
    backend.dispose();
    chosen.gpu?.device.destroy();
  });

  updateButtons();
  setStatus('ready', chosen.kind === 'webgpu' ? 'ready (WebGPU)' : 'ready (CPU fallback)');
  document.body.dataset.ready = 'true';
}

main().catch((err: unknown) => {
  showError(`The demo could not start: ${errorText(err)}`);
  setStatus('error', 'error');
  document.body.dataset.ready = 'error';
});
