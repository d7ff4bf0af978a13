// The inspector page: plain DOM, no framework, no build step. It speaks protocol version 1
// (src/inspector/protocol.ts) to the server it was loaded from, and reconnects on its own.
// Every text from the server is set with textContent: nothing received is ever evaluated.
// The token (from the address's #fragment or the token field) goes in the WebSocket
// handshake as a subprotocol, never in a URL; it is kept for this tab only (sessionStorage)
// and taken out of the address bar.

const PROTOCOL = 1;
const MAX_MESSAGES = 300;
const MAX_LOG = 300;
const PERFORMATIVES = [
  'request', 'inform', 'query-if', 'query-ref', 'cfp', 'propose', 'accept-proposal', 'reject-proposal', 'agree', 'refuse',
  'failure', 'not-understood', 'cancel', 'confirm', 'disconfirm', 'inform-if', 'inform-ref', 'propagate', 'proxy',
  'request-when', 'request-whenever', 'subscribe',
];
const LIFECYCLE = new Set(['started', 'stopped', 'failed', 'restarted', 'hung', 'escalated', 'suspended', 'resumed']);
const SUBPROTOCOL = 'troupe-inspector';
const TOKEN_PREFIX = 'troupe-token.';
const TOKEN_KEY = 'troupe-inspector-token';

const $ = (id) => document.getElementById(id);
const state = {
  socket: undefined,
  nextId: 1,
  pending: new Map(),
  tree: undefined,
  selected: undefined,
  chart: undefined,
  /** This connection gave the token: snapshots (agents' memory) and control are open to it. */
  authenticated: false,
  /** The last state value streamed per agent: the statechart's highlight without a snapshot. */
  values: new Map(),
  messages: [],
  askers: new Map(),
  ports: new Map(),
  dropped: 0,
  overBudgetTimer: undefined,
  retryMs: 250,
  /** Set when retrying cannot help (another protocol version, a policy close): the reason shown. */
  givenUp: undefined,
  /** The token field changed: the next connection starts at once. */
  reconnectNow: false,
  treeTimer: undefined,
  snapshotTimer: undefined,
};

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- connection ----------------------------------------------------------------------------

/** The token as a subprotocol: base64url of its UTF-8 bytes (what a subprotocol may contain). */
function tokenProtocol(token) {
  const bytes = new TextEncoder().encode(token);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return TOKEN_PREFIX + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function connect() {
  const url = new URL('/', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = $('token').value;
  const socket = new WebSocket(url, token ? [SUBPROTOCOL, tokenProtocol(token)] : [SUBPROTOCOL]);
  state.socket = socket;
  socket.addEventListener('open', () => {
    state.retryMs = 250;
    setConnection(true);
  });
  socket.addEventListener('message', (frame) => {
    if (state.socket === socket) onServerMessage(JSON.parse(frame.data));
  });
  socket.addEventListener('close', (event) => {
    if (state.socket !== socket) return;
    for (const { reject } of state.pending.values()) reject(new Error('connection lost'));
    state.pending.clear();
    // Refused by policy (origin, flood): retrying would not help.
    if (event.code === 1008) state.givenUp ??= `refused: ${event.reason || 'policy'}`;
    if (state.givenUp !== undefined) {
      setConnection(false, state.givenUp, false);
      return;
    }
    setConnection(false, event.reason, true);
    setTimeout(connect, state.reconnectNow ? 0 : state.retryMs);
    if (!state.reconnectNow) state.retryMs = Math.min(state.retryMs * 2, 5_000);
    state.reconnectNow = false;
  });
}

/** A new token (or none): connect again with it. */
function reconnect() {
  if (state.socket?.readyState === WebSocket.OPEN || state.socket?.readyState === WebSocket.CONNECTING) {
    state.reconnectNow = true;
    state.socket.close(1000, 'token changed');
  }
}

function setAccess(text, authenticated) {
  state.authenticated = authenticated;
  $('access').textContent = text;
  document.body.dataset.authenticated = String(authenticated);
}

function setConnection(connected, reason, retrying) {
  const badge = $('connection');
  badge.className = `status ${connected ? 'connected' : 'disconnected'}`;
  badge.textContent = connected ? 'connected' : `disconnected${reason ? `: ${reason}` : ''}${retrying ? ', retrying' : ''}`;
  document.body.dataset.connected = String(connected);
}

function call(request) {
  const id = state.nextId++;
  return new Promise((resolve, reject) => {
    if (state.socket?.readyState !== WebSocket.OPEN) return reject(new Error('not connected'));
    state.pending.set(id, { resolve, reject });
    state.socket.send(JSON.stringify({ ...request, id }));
  });
}

function onServerMessage(message) {
  switch (message.type) {
    case 'hello':
      if (message.protocol !== PROTOCOL) {
        // Nothing more from this server can be read right: stop, and say what to do.
        state.givenUp = `the server speaks inspector protocol ${message.protocol}, this page ${PROTOCOL}; reload the page`;
        state.socket.close(1000, 'protocol mismatch');
        return;
      }
      $('system-name').textContent = message.system;
      if (!message.control) setAccess('the inspector has no token: watching only', false);
      else if (message.authenticated) setAccess('token accepted: memory and control', true);
      else setAccess('no token: watching only (memory and control need it)', false);
      renderTree(message.tree);
      if (state.selected) selectAgent(state.selected);
      return;
    case 'events':
      if (state.givenUp !== undefined) return;
      for (const event of message.events) onEvent(event);
      renderSequence();
      return;
    case 'dropped':
      state.dropped += message.count;
      $('dropped').hidden = false;
      $('dropped').textContent = `${state.dropped} events dropped (slow connection)`;
      return;
    case 'reply':
    case 'error': {
      const waiting = state.pending.get(message.id);
      if (waiting === undefined) {
        if (message.type === 'error') log(`error ${message.code}: ${message.message}`);
        if (message.type === 'error' && message.code === 'unauthorized') setAccess(`wrong token: watching only`, false);
        return;
      }
      state.pending.delete(message.id);
      if (message.type === 'reply') waiting.resolve(message.result);
      else waiting.reject(Object.assign(new Error(message.message), { code: message.code }));
      return;
    }
  }
}

// ---- events --------------------------------------------------------------------------------

function onEvent(event) {
  if (event.type === 'sent' || event.type === 'dead-letter') {
    addMessage(event);
    if (event.type === 'dead-letter') log(`dead letter ${event.performative} ${event.sender} → ${event.receiver}: ${event.reason}`);
  } else if (event.type === 'mailbox') {
    const badge = document.querySelector(`#tree .node[data-path="${CSS.escape(event.path)}"] .mailbox`);
    if (badge) badge.textContent = `✉ ${event.depth}`;
  } else if (event.type === 'state') {
    log(`${event.path} → ${JSON.stringify(event.value)}${event.event ? ` on ${event.event}` : ''}`);
    state.values.set(event.path, event.value);
    if (event.path === state.selected) {
      if (state.authenticated) refreshSnapshotSoon();
      else renderChart(state.chart, activeFrom(state.chart, event.value));
    }
  } else if (event.type === 'over-budget') {
    showOverBudget(event);
  } else if (LIFECYCLE.has(event.type)) {
    log(`${event.path} ${event.type}${event.reason ? `: ${event.reason}` : ''}${event.incarnation ? ` (${event.incarnation})` : ''}`);
    refreshTreeSoon();
    if (event.path === state.selected) refreshSnapshotSoon();
  } else {
    // An event type this page does not know (added by a newer kernel): shown as it came.
    const { type, at: _at, ...fields } = event;
    log(`${type} ${JSON.stringify(fields)}`);
  }
}

/** The system outruns what can be watched: say how much the stream leaves out, while it does. */
function showOverBudget(event) {
  const skipped = Object.entries(event.skipped)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count.toLocaleString()} ${kind}`)
    .join(', ');
  const seconds = Math.max(1, Math.round((event.at - event.since) / 1000));
  const badge = $('over-budget');
  badge.hidden = false;
  badge.textContent = `over ${event.maxEventsPerSecond.toLocaleString()} events/s: not shown in the last ${seconds} s: ${skipped}`;
  log(`not recorded (over the inspector's ${event.maxEventsPerSecond} events/s): ${skipped}`);
  clearTimeout(state.overBudgetTimer);
  // Notices come every second while it lasts: the badge goes a little after the last one.
  state.overBudgetTimer = setTimeout(() => (badge.hidden = true), 3000);
}

function log(text) {
  const list = $('log');
  list.append(el('li', {}, `${new Date().toLocaleTimeString()}  ${text}`));
  while (list.childElementCount > MAX_LOG) list.firstElementChild.remove();
  list.parentElement.scrollTop = list.parentElement.scrollHeight;
}

// ---- supervision tree ----------------------------------------------------------------------

function refreshTreeSoon() {
  if (state.treeTimer !== undefined) return;
  state.treeTimer = setTimeout(async () => {
    state.treeTimer = undefined;
    try {
      renderTree(await call({ type: 'tree' }));
    } catch {
      // Disconnected: the next hello brings the tree.
    }
  }, 100);
}

function renderTree(tree) {
  state.tree = tree;
  $('tree').replaceChildren(treeItem(tree));
}

function treeItem(entry) {
  const row = el('div', { class: `node${entry.path === state.selected ? ' selected' : ''}`, dataset: { path: entry.path, kind: entry.kind } },
    el('span', { class: 'name' }, entry.path === '/' ? '/ (root)' : entry.id),
    el('span', { class: `state status-${entry.status}` }, entry.status),
    el('span', { class: 'incarnation', title: 'incarnation' }, entry.incarnation ?? '–'),
    el('span', { class: 'badge restarts', title: 'restarts' }, `↻ ${entry.restarts}`),
  );
  if (entry.kind === 'agent') {
    row.append(el('span', { class: 'badge mailbox', title: 'mailbox depth' }, `✉ ${entry.mailbox ?? 0}`));
    if (entry.suspended) row.append(el('span', { class: 'suspended' }, 'suspended'));
    row.addEventListener('click', () => selectAgent(entry.path));
  }
  const item = el('li', {}, row);
  if (entry.children?.length) item.append(el('ul', {}, ...entry.children.map(treeItem)));
  return item;
}

// ---- selected agent: statechart, snapshot, controls ---------------------------------------

async function selectAgent(path) {
  const changed = path !== state.selected;
  state.selected = path;
  $('agent-path').textContent = path;
  for (const node of document.querySelectorAll('#tree .node')) node.classList.toggle('selected', node.dataset.path === path);
  for (const id of ['stop', 'restart', 'suspend', 'resume', 'send']) $(id).disabled = false;
  try {
    if (changed || state.chart === undefined) {
      state.chart = await call({ type: 'statechart', path });
      renderChart(state.chart, activeFrom(state.chart, state.values.get(path)));
    }
    await refreshSnapshot();
  } catch (error) {
    $('snapshot').textContent = `(${error.message})`;
  }
}

function refreshSnapshotSoon() {
  if (state.snapshotTimer !== undefined) return;
  state.snapshotTimer = setTimeout(() => {
    state.snapshotTimer = undefined;
    refreshSnapshot().catch((error) => ($('snapshot').textContent = `(${error.message})`));
  }, 100);
}

async function refreshSnapshot() {
  if (!state.selected) return;
  const snapshot = await call({ type: 'snapshot', path: state.selected });
  $('snapshot').textContent = JSON.stringify(snapshot, null, 2);
  renderChart(state.chart, new Set(snapshot.state?.active ?? []));
}

/** The ids of the chart's nodes a streamed state value names (`"warm"`, `{"busy": "fetching"}`). */
function activeFrom(chart, value) {
  const active = new Set();
  const walk = (node, at) => {
    active.add(node.id);
    if (typeof at === 'string') {
      const child = node.states.find((candidate) => candidate.key === at);
      if (child) active.add(child.id);
    } else if (at && typeof at === 'object') {
      for (const [key, inner] of Object.entries(at)) {
        const child = node.states.find((candidate) => candidate.key === key);
        if (child) walk(child, inner);
      }
    }
  };
  if (chart && value !== undefined) walk(chart, value);
  return active;
}

function renderChart(chart, active) {
  if (!chart) return;
  $('statechart').replaceChildren(chartNode(chart, active, undefined));
}

function chartNode(node, active, parentInitial) {
  const box = el('div', { class: `chart-state${active.has(node.id) ? ' active' : ''}`, dataset: { stateId: node.id } });
  const name = el('div', { class: `name${parentInitial === node.id ? ' initial' : ''}` }, node.key);
  if (node.type !== 'atomic' && node.type !== 'compound') name.append(` (${node.type})`);
  if (node.tags.length) name.append(` [${node.tags.join(', ')}]`);
  box.append(name);
  for (const transition of node.transitions) {
    const targets = transition.targets.length ? transition.targets.map((id) => id.split('.').pop()).join(', ') : '(internal)';
    box.append(el('div', { class: 'transition' }, `${transition.event}${transition.guarded ? ' [guard]' : ''} → ${targets}`));
  }
  for (const child of node.states) box.append(chartNode(child, active, node.initial));
  return box;
}

async function control(type, extra = {}) {
  const result = $('control-result');
  result.className = '';
  result.textContent = `${type}…`;
  try {
    const answer = await call({ type, path: state.selected, token: $('token').value || undefined, ...extra });
    result.textContent = `${type}: ${JSON.stringify(answer)}`;
    refreshTreeSoon();
    refreshSnapshotSoon();
  } catch (error) {
    result.className = 'error';
    result.textContent = `${type} refused: ${error.message}`;
  }
}

function setUpControls() {
  for (const type of ['stop', 'restart', 'suspend', 'resume']) $(type).addEventListener('click', () => control(type));
  $('send-performative').append(...PERFORMATIVES.map((name) => el('option', { value: name }, name)));
  $('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('send-content').value.trim();
    let content;
    try {
      content = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      $('control-result').className = 'error';
      $('control-result').textContent = `content is not JSON: ${error.message}`;
      return;
    }
    control('send', { performative: $('send-performative').value, content });
  });
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    // Out of the address bar (and this history entry): a screenshot or a shared screen shows no token.
    history.replaceState(null, '', location.pathname + location.search);
  }
  $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('token').addEventListener('change', () => {
    const token = $('token').value;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    reconnect();
  });
  $('conversation-filter').addEventListener('input', renderSequence);
  $('clear-messages').addEventListener('click', () => {
    state.messages = [];
    renderSequence();
  });
}

// ---- sequence diagram (JADE's sniffer) -----------------------------------------------------

function addMessage(event) {
  // An answer to a waiting request goes to a temporary address: draw it back to who asked.
  if (event.type === 'sent' && event.replyWith && !event.receiver.startsWith('/$')) state.askers.set(event.replyWith, event.sender);
  // A conversation port (contract net, subscribe) belongs to whoever named it as reply-to.
  if (event.type === 'sent' && event.replyTo && event.replyTo.startsWith('/$port/')) state.ports.set(event.replyTo, event.sender);
  let receiver = event.receiver;
  if (receiver.startsWith('/$ask/')) receiver = state.askers.get(event.inReplyTo) ?? '/$system';
  else if (receiver.startsWith('/$port/')) receiver = state.ports.get(receiver) ?? receiver;
  state.messages.push({ ...event, drawnReceiver: receiver });
  if (state.messages.length > MAX_MESSAGES) state.messages.splice(0, state.messages.length - MAX_MESSAGES);
  if (state.askers.size > 5 * MAX_MESSAGES) state.askers.clear();
  if (state.ports.size > 5 * MAX_MESSAGES) state.ports.clear();
}

function renderSequence() {
  const filter = $('conversation-filter').value.trim();
  const shown = filter ? state.messages.filter((m) => m.conversationId.includes(filter)) : state.messages;
  const participants = [];
  for (const message of shown) {
    for (const path of [message.sender, message.drawnReceiver]) if (!participants.includes(path)) participants.push(path);
  }
  const column = 150;
  const row = 24;
  const top = 30;
  const width = Math.max(participants.length * column, 300);
  const height = top + (shown.length + 1) * row;
  const chart = $('sequence');
  chart.setAttribute('width', width);
  chart.setAttribute('height', height);
  const x = (path) => participants.indexOf(path) * column + column / 2;
  const children = [];
  for (const path of participants) {
    children.push(svg('text', { x: x(path), y: 15, 'text-anchor': 'middle', class: 'participant' }, path));
    children.push(svg('line', { x1: x(path), y1: 20, x2: x(path), y2: height, class: 'lifeline' }));
  }
  shown.forEach((message, index) => {
    const y = top + (index + 1) * row;
    const from = x(message.sender);
    const to = x(message.drawnReceiver);
    const dead = message.type === 'dead-letter';
    const group = svg('g', { class: `message${dead ? ' dead' : ''}`, 'data-conversation': message.conversationId, 'data-performative': message.performative, 'data-sender': message.sender, 'data-receiver': message.drawnReceiver });
    const end = from === to ? to + 30 : to + (to > from ? -4 : 4);
    group.append(svg('line', { x1: from, y1: y, x2: end, y2: y, 'marker-end': 'url(#arrow)' }));
    const label = dead ? `✗ ${message.performative} (${message.reason})` : message.performative;
    group.append(svg('text', { x: (from + end) / 2, y: y - 4, 'text-anchor': 'middle' }, `${label} · ${message.conversationId} · t${message.lamport}`));
    children.push(group);
  });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', markerWidth: 8, markerHeight: 8, refX: 7, refY: 4, orient: 'auto' });
  marker.append(svg('path', { d: 'M0,0 L8,4 L0,8 z', fill: '#1d2330' }));
  defs.append(marker);
  chart.replaceChildren(defs, ...children);
}

setUpControls();
connect();
