// The fleet page. Every value from the snapshot is hostile text: it reaches the DOM only through
// textContent and attribute setters, and the graph draws labels on a canvas. No innerHTML.
'use strict';

const STATUS_COLOURS = {
  running: '#2e9d4f',
  failed: '#d23c3c',
  creating: '#e0a21b',
  deleting: '#e0a21b',
  pending: '#6b8fd6',
  stopped: '#8c8c8c',
  'not recorded': '#ffffff',
};
const MAX_GRAPH_NODES = 400;
const EDGE_STYLES = { depends: 'solid', connects: 'dashed', host: 'dotted', attaches: 'dotted' };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else if (k.startsWith('data-')) node.setAttribute(k, String(v));
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

const statusClass = (s) => 'status status-' + String(s).replace(/[^a-z]+/gi, '-');
const shortRev = (r) => (!r ? '—' : /^[0-9a-f]{40,64}$/.test(r) ? r.slice(0, 10) : String(r));
const fmtValue = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
const fmtDuration = (ms) => (ms === null || ms === undefined ? '—' : ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s');
const fmtTime = (t) => {
  const d = new Date(t);
  return isNaN(d.getTime()) ? String(t) : d.toLocaleString();
};

function statusBadge(node) {
  const span = el('span', { class: statusClass(node.status), text: node.status });
  return span;
}

// ---------------------------------------------------------------- graph
let cy;
let graphSignature = '';

function graphElements(snap) {
  const elements = [];
  const nodeIds = new Map();
  const services = new Set();
  for (const host of snap.hosts) elements.push({ group: 'nodes', data: { id: 'h\u0000' + host, label: host, kind: 'host' } });
  const unplaced = snap.nodes.some((n) => !n.host);
  if (unplaced) elements.push({ group: 'nodes', data: { id: 'h\u0000', label: '(not placed)', kind: 'host' } });
  for (const n of snap.nodes) {
    const host = n.host || '';
    const sid = 's\u0000' + host + '\u0000' + n.service;
    if (!services.has(sid)) {
      services.add(sid);
      elements.push({ group: 'nodes', data: { id: sid, parent: 'h\u0000' + host, label: n.service, kind: 'service' } });
    }
    const gid = 'n\u0000' + host + '\u0000' + n.id;
    if (n.inTemplates && !nodeIds.has(n.id)) nodeIds.set(n.id, gid);
    elements.push({ group: 'nodes', data: { id: gid, parent: sid, label: n.key, status: n.status, colour: STATUS_COLOURS[n.status] || '#cccccc', kind: 'node' } });
  }
  snap.edges.forEach((e, i) => {
    const source = nodeIds.get(e.source);
    const target = nodeIds.get(e.target);
    if (!source || !target) return;
    elements.push({ group: 'edges', data: { id: 'e' + i, source, target, label: e.label, line: EDGE_STYLES[e.kind] || 'solid' } });
  });
  return elements;
}

function drawGraph(snap) {
  const container = document.getElementById('graph');
  if (typeof window.cytoscape !== 'function') {
    container.textContent = 'the graph library did not load';
    return;
  }
  // A canvas graph of thousands of nodes helps nobody and stalls the page: the table has them all.
  if (snap.nodes.length > MAX_GRAPH_NODES) {
    if (cy) cy.destroy();
    cy = undefined;
    graphSignature = '';
    container.style.height = 'auto';
    container.textContent = snap.nodes.length + ' nodes: too many to draw (at most ' + MAX_GRAPH_NODES + '); the table below lists them all.';
    return;
  }
  if (!cy) container.textContent = '';
  const elements = graphElements(snap);
  const signature = elements.map((e) => e.data.id + '\u0001' + (e.data.source || '') + '\u0001' + (e.data.target || '')).join('\u0002');
  if (cy && signature === graphSignature) {
    // Same shape: recolour in place so the layout does not jump on every pass.
    cy.batch(() => {
      for (const e of elements) if (e.data.kind === 'node') cy.getElementById(e.data.id).data({ status: e.data.status, colour: e.data.colour });
    });
    return;
  }
  graphSignature = signature;
  if (cy) cy.destroy();
  const tallest = positions(elements);
  container.style.height = Math.max(260, Math.min(900, tallest + 120)) + 'px';
  cy = window.cytoscape({
    container,
    elements,
    style: [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 12, 'text-valign': 'bottom', 'text-margin-y': 4, color: '#1d2330' } },
      {
        selector: 'node[kind = "node"]',
        style: { 'background-color': 'data(colour)', 'border-width': 2, 'border-color': '#333', width: 26, height: 26, 'text-background-color': '#fbfcfd', 'text-background-opacity': 0.8 },
      },
      { selector: 'node[status = "not recorded"]', style: { 'border-style': 'dashed' } },
      {
        selector: 'node[kind = "host"]',
        style: { shape: 'round-rectangle', 'background-color': '#e8edf6', 'border-color': '#5a6b8c', 'border-width': 2, 'text-valign': 'top', 'text-halign': 'center', 'font-size': 15, 'font-weight': 'bold', padding: 18 },
      },
      {
        selector: 'node[kind = "service"]',
        style: { shape: 'round-rectangle', 'background-color': '#ffffff', 'border-color': '#a3acbd', 'border-style': 'dashed', 'text-valign': 'top', 'font-size': 12, padding: 14, color: '#4a5468' },
      },
      {
        selector: 'edge',
        style: {
          width: 1.5,
          'line-color': '#56627a',
          'target-arrow-color': '#56627a',
          'target-arrow-shape': 'triangle',
          'curve-style': 'bezier',
          'line-style': 'data(line)',
          label: 'data(label)',
          'font-size': 10,
          color: '#394256',
          'text-rotation': 'autorotate',
          'text-background-color': '#ffffff',
          'text-background-opacity': 0.85,
        },
      },
    ],
    layout: { name: 'preset', padding: 24, fit: true },
    minZoom: 0.2,
    maxZoom: 2.5,
  });
  if (cy.zoom() > 1.3) {
    cy.zoom(1.3);
    cy.center();
  }
}

/**
 * Positions: one column per host, services stacked in it, and in a service the nodes in rows by
 * how deep their dependencies go (what others need on top), so edges mostly point upwards.
 */
function positions(elements) {
  const nodes = elements.filter((e) => e.data.kind === 'node');
  const edges = elements.filter((e) => e.group === 'edges');
  const out = new Map();
  for (const e of edges) (out.get(e.data.source) || out.set(e.data.source, []).get(e.data.source)).push(e.data.target);
  const level = new Map();
  const depth = (id, seen) => {
    if (level.has(id)) return level.get(id);
    if (seen.has(id)) return 0; // a cycle: the compiler reports it; draw it anyway
    seen.add(id);
    let d = 0;
    for (const t of out.get(id) || []) d = Math.max(d, depth(t, seen) + 1);
    seen.delete(id);
    level.set(id, d);
    return d;
  };
  const byHost = new Map();
  for (const h of elements.filter((e) => e.data.kind === 'host')) byHost.set(h.data.id, new Map());
  for (const n of nodes) {
    const host = elements.find((e) => e.data.id === n.data.parent).data.parent;
    if (!byHost.has(host)) byHost.set(host, new Map());
    const services = byHost.get(host);
    if (!services.has(n.data.parent)) services.set(n.data.parent, []);
    services.get(n.data.parent).push(n);
  }
  const COL = 150, ROW = 95, SERVICE_GAP = 70, HOST_GAP = 120;
  let x0 = 0;
  let tallest = 0;
  for (const services of byHost.values()) {
    let y0 = 0;
    let widest = 1;
    for (const members of services.values()) {
      const rows = new Map();
      for (const n of members) {
        const l = depth(n.data.id, new Set());
        if (!rows.has(l)) rows.set(l, []);
        rows.get(l).push(n);
      }
      const levels = [...rows.keys()].sort((a, b) => a - b);
      levels.forEach((l, row) => {
        rows.get(l).forEach((n, i) => {
          n.position = { x: x0 + i * COL, y: y0 + row * ROW };
          widest = Math.max(widest, i + 1);
        });
      });
      y0 += levels.length * ROW + SERVICE_GAP;
    }
    tallest = Math.max(tallest, y0);
    x0 += widest * COL + HOST_GAP;
  }
  return tallest;
}

function drawLegend() {
  const legend = document.getElementById('legend');
  legend.replaceChildren();
  for (const [status, colour] of Object.entries(STATUS_COLOURS)) {
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = colour;
    if (status === 'not recorded') swatch.style.borderStyle = 'dashed';
    legend.append(el('li', {}, swatch, status));
  }
  legend.append(el('li', {}, el('span', { class: 'line' }), 'DependsOn'));
  legend.append(el('li', {}, el('span', { class: 'line connects' }), 'ConnectsTo'));
  legend.append(el('li', {}, el('span', { class: 'line hosted' }), 'HostedOn / AttachesTo'));
  legend.append(el('li', { class: 'muted', text: 'boxes: hosts, and the services on them; "not recorded": in the templates, no state file records it yet' }));
}

// ---------------------------------------------------------------- tables
function attributesCell(attrs) {
  const keys = Object.keys(attrs || {}).sort();
  if (keys.length === 0) return el('td', { class: 'muted', text: '—' });
  const code = el('code');
  code.textContent = keys.map((k) => k + '=' + fmtValue(attrs[k])).join('\n');
  code.style.whiteSpace = 'pre-wrap';
  return el('td', {}, code);
}

function errorCell(error) {
  if (!error) return el('td', { class: 'muted', text: '—' });
  const lines = String(error).split('\n');
  const details = el('details', {}, el('summary', { text: lines[0] }));
  details.append(el('pre', { text: String(error) }));
  return el('td', {}, details);
}

function drawNodes(snap) {
  const body = document.querySelector('#nodes tbody');
  const rows = [...snap.nodes].sort((a, b) => (a.host || '').localeCompare(b.host || '') || a.service.localeCompare(b.service) || a.key.localeCompare(b.key));
  body.replaceChildren(
    ...rows.map((n) => {
      const status = el('td', {}, statusBadge(n));
      if (n.waitingFor && n.waitingFor.length) status.append(el('div', { class: 'muted', text: 'waits for ' + n.waitingFor.join(', ') }));
      if (!n.inTemplates) status.append(el('div', { class: 'muted', text: 'removed from the templates' }));
      return el(
        'tr',
        { 'data-node': n.id, 'data-host': n.host || '', 'data-status': n.status },
        el('td', { text: n.host || '(not placed)' }),
        el('td', { text: n.service }),
        el('td', { class: n.inTemplates ? undefined : 'gone', text: n.key }),
        el('td', { text: n.type }),
        status,
        attributesCell(n.attributes),
        errorCell(n.error),
      );
    }),
  );
  if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: 'no nodes: no service compiled and no state is recorded' })));
}

function drawPlan(snap) {
  const box = document.getElementById('plan');
  const title = document.getElementById('plan-title');
  box.replaceChildren();
  if (!snap.plan) {
    title.textContent = 'Plan';
    box.append(el('p', { class: 'muted', text: 'no plan: nothing was compiled yet' }));
    return;
  }
  title.textContent = 'Plan of ' + shortRev(snap.plan.revision) + (snap.source.kind === 'agent' ? ' for ' + snap.source.name + ', against its current state' : ', against the recorded state');
  for (const h of snap.plan.hosts) {
    const s = h.summary;
    box.append(el('h3', { text: h.host + ': ' + s.create + ' to create, ' + s.update + ' to update, ' + s.delete + ' to delete, ' + s.wait + ' waiting, ' + s.noop + ' unchanged' }));
    if (h.actions.length === 0) {
      box.append(el('p', { class: 'muted', text: 'no changes' }));
      continue;
    }
    const list = el('ul', { class: 'actions' });
    for (const a of h.actions) {
      const item = el('li', { 'data-action': a.kind }, el('span', { class: 'kind kind-' + a.kind, text: a.kind }), ' ', el('code', { text: a.node }), ' — ' + a.reason);
      if (a.kind === 'update' && a.changes && a.changes.length) {
        const changes = el('ul');
        for (const c of a.changes) {
          const before = 'old' in c ? fmtValue(c.old) : '(none)';
          const after = 'new' in c ? fmtValue(c.new) : '(removed)';
          // Long or multi-line values in blocks of their own, so a command stays readable.
          if (before.length + after.length > 80 || /\n/.test(before + after)) changes.append(el('li', {}, el('code', { text: c.path }), el('pre', { text: before }), '→', el('pre', { text: after })));
          else changes.append(el('li', {}, el('code', { text: c.path + ': ' + before + ' → ' + after })));
        }
        item.append(changes);
      }
      list.append(item);
    }
    box.append(list);
  }
}

function drawPasses(snap) {
  const body = document.querySelector('#passes tbody');
  body.replaceChildren(
    ...snap.passes.map((p) => {
      // The agent's own words for a pass, as a person reads them.
      const RESULT_LABELS = { irrelevant: 'nothing for this host', unchanged: 'no new revision', noop: 'up to date' };
      const result = el('td', { text: RESULT_LABELS[p.result] || p.result });
      if (p.detail) result.append(el('div', { class: 'muted', text: p.detail }));
      if (p.error) result.append(el('pre', { text: p.error }));
      return el('tr', { 'data-result': p.result }, el('td', { text: fmtTime(p.at) }), el('td', { text: p.host || '' }), el('td', {}, el('code', { text: shortRev(p.revision) })), el('td', { text: p.message || '' }), result, el('td', { text: fmtDuration(p.durationMs) }));
    }),
  );
  if (snap.passes.length === 0) body.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'no pass recorded yet' })));
}

// Per host: where its state is read, its last state commit, and how far it lags behind the templates.
function drawLag(snap) {
  const rows = snap.lag || [];
  document.getElementById('lag-section').hidden = rows.length === 0;
  document.querySelector('#lag tbody').replaceChildren(
    ...rows.map((l) =>
      el(
        'tr',
        { 'data-host': l.host },
        el('td', { text: l.host }),
        el('td', { text: l.source === 'branch' ? 'kaidu/state/' + l.host : 'templates branch (not migrated)' }),
        el('td', {}, el('code', { text: l.stateCommit ? shortRev(l.stateCommit) : '-' })),
        el('td', {}, el('code', { text: l.templatesRevision ? shortRev(l.templatesRevision) : 'unknown' })),
        el('td', { class: 'lag', text: l.behind === null ? 'unknown' : l.behind === 0 ? 'up to date' : l.behind + ' behind' }),
      ),
    ),
  );
}

function drawDiagnostics(snap) {
  const list = document.getElementById('diagnostics');
  const ds = snap.diagnostics || [];
  document.getElementById('problems').hidden = ds.length === 0;
  list.replaceChildren(...ds.map((d) => el('li', {}, el('code', { text: d.file + ':' + d.line + ':' + d.column }), ' ' + d.severity + ' ' + d.code + ': ' + d.message)));
}

function drawHeader(snap) {
  const src = snap.source;
  const parts = [src.kind === 'agent' ? 'agent of ' + src.name : src.kind + ' ' + src.name, 'revision ' + shortRev(src.revision)];
  if (snap.agent) {
    parts.push(snap.agent.ready ? 'ready' : 'not ready');
    parts.push(snap.agent.hubReachable ? 'hub reachable' : 'hub NOT reachable');
    if (snap.agent.pendingPush) parts.push('state not pushed yet');
  }
  parts.push('as of ' + fmtTime(snap.generatedAt));
  document.getElementById('source').textContent = parts.join(' · ');
  document.title = 'Kaidu · ' + src.name;
}

// ---------------------------------------------------------------- data
let loading = false;
let again = false;

function showProblem(text) {
  const p = document.getElementById('problem');
  p.textContent = text;
  p.hidden = !text;
}

async function refresh() {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    const res = await fetch('ui/snapshot', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error('the snapshot request answered ' + res.status + ' ' + (await res.text()).slice(0, 300));
    const snap = await res.json();
    drawHeader(snap);
    drawNodes(snap);
    drawPlan(snap);
    drawPasses(snap);
    drawLag(snap);
    drawDiagnostics(snap);
    drawGraph(snap);
    showProblem('');
    document.body.setAttribute('data-loaded', snap.generatedAt);
  } catch (err) {
    // Never leave old data looking current.
    showProblem('Could not load the fleet data (what is shown may be out of date): ' + (err && err.message ? err.message : String(err)));
    document.body.setAttribute('data-load-error', String(err && err.message ? err.message : err));
  } finally {
    loading = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

function listen() {
  const live = document.getElementById('live');
  const events = new EventSource('ui/events');
  events.addEventListener('hello', (e) => {
    const info = JSON.parse(e.data);
    live.dataset.state = info.live ? 'live' : 'static';
    live.textContent = info.live ? 'live' : 'not live: reload to look again';
    void refresh(); // after a reconnect something may have changed meanwhile
  });
  events.addEventListener('changed', () => void refresh());
  events.addEventListener('error', () => {
    live.dataset.state = 'down';
    live.textContent = 'disconnected, reconnecting…';
  });
}

drawLegend();
void refresh();
listen();
