// Tests the terminal's wire client alone (no browser): order, duplicates, acks, resume, gaps, read-only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';

const bundle = await build({ entryPoints: ['src/terminal/wire.ts', 'src/terminal/frame.ts'], bundle: true, format: 'esm', write: false, outdir: 'out', absWorkingDir: new URL('..', import.meta.url).pathname });
const load = (name) => import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles.find((f) => f.path.endsWith(name)).text).toString('base64')}`);
const { Wire, AttachRefused } = await load('wire.js');
const { decodeFrame } = await load('frame.js');

/** A binary frame as protocol/README.md lays it out. */
function encodeFrame(sessionId, seq, payload) {
  const sid = new TextEncoder().encode(sessionId);
  const out = new Uint8Array(10 + sid.length + payload.length);
  out[0] = 0x01;
  out[1] = sid.length;
  out.set(sid, 2);
  new DataView(out.buffer).setBigUint64(2 + sid.length, BigInt(seq), false);
  out.set(payload, 10 + sid.length);
  return out.buffer;
}

const SID = 'ses-test';
const tick = () => new Promise((r) => setTimeout(r, 0));
const frame = (seq, text, sid = SID) => encodeFrame(sid, seq, new TextEncoder().encode(text));

/** A screen whose writes finish only when the test says so, like xterm's async parser. */
function fakeScreen() {
  const screen = { log: [], pending: [], text: '' };
  screen.write = (data, done) => { screen.log.push(typeof data === 'string' ? data : new TextDecoder().decode(data)); screen.pending.push(done); };
  screen.reset = () => screen.log.push('<reset>');
  screen.flush = () => { while (screen.pending.length) screen.pending.shift()(); };
  return screen;
}

/** A wire on fake sockets; `sockets` holds every socket it opened. */
function harness({ readOnly = false, attach } = {}) {
  const sockets = [];
  const screen = fakeScreen();
  const events = { errors: [], ended: [], states: [] };
  const wire = new Wire({
    sessionId: SID, readOnly, screen, base: 'http://hub.test/dashboard',
    attach: attach ?? (async () => ({ url: `/vps/v/terminal?session_id=${SID}&ticket=t${sockets.length}`, ticket: 't', expires_at: 0 })),
    connect: (url) => {
      const s = { url, sent: [], binaryType: 'blob', send: (d) => s.sent.push(JSON.parse(d)), close: () => { s.closed = true; } };
      s.open = () => s.onopen?.({});
      s.recv = (data) => s.onmessage?.({ data: typeof data === 'string' || data instanceof ArrayBuffer ? data : JSON.stringify(data) });
      s.drop = () => s.onclose?.({ code: 1006 });
      s.of = (type) => s.sent.filter((m) => m.type === type);
      sockets.push(s);
      return s;
    },
    events: { error: (c, m) => events.errors.push([c, m]), ended: (m) => events.ended.push(m), state: (s) => events.states.push(s) },
  });
  return { wire, screen, sockets, events };
}

test('frames decode as the spec example says', () => {
  const bytes = new Uint8Array([0x01, 0x02, 0x61, 0x62, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x68, 0x69]);
  const f = decodeFrame(bytes.buffer);
  assert.equal(f.sessionId, 'ab');
  assert.equal(f.seq, 258);
  assert.equal(new TextDecoder().decode(f.payload), 'hi');
  assert.equal(decodeFrame(new Uint8Array([0x02, 0x02, 0x61, 0x62, 0, 0, 0, 0, 0, 0, 0, 0]).buffer), null);
  assert.equal(decodeFrame(new Uint8Array([0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]).buffer), null);
  assert.equal(decodeFrame(new Uint8Array([0x01, 0x05, 0x61]).buffer), null);
});

test('frames are written in order, duplicates dropped, acks sent after rendering', async () => {
  const { wire, screen, sockets } = harness();
  wire.start();
  await tick();
  const s = sockets[0];
  assert.equal(s.binaryType, 'arraybuffer');
  assert.equal(s.url, `ws://hub.test/vps/v/terminal?session_id=${SID}&ticket=t0`);
  s.open();
  assert.equal(wire.state, 'open');
  s.recv({ type: 'session.snapshot', schema_version: '1', session_id: SID, content: 'screen\nline', cursor_x: 2, cursor_y: 1 });
  s.recv(frame(0, 'a'));
  s.recv(frame(1, 'b'));
  s.recv(frame(1, 'b-again'));
  s.recv(frame(0, 'a-again'));
  s.recv(frame(5, 'other', 'ses-other'));
  assert.deepEqual(s.of('session.ack'), [], 'no ack before rendering');
  screen.flush();
  assert.deepEqual(screen.log, ['<reset>', 'screen\r\nline\x1b[2;3H', 'a', 'b']);
  assert.equal(wire.lastSeq, 1);
  assert.deepEqual(s.of('session.ack').map((m) => m.seq), [0]);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(s.of('session.ack').map((m) => m.seq), [0, 1], 'the trailing ack carries the newest rendered seq');
  assert.equal(s.of('session.ack')[0].schema_version, '1');
  wire.close();
});

test('a reconnect asks for a fresh ticket and resumes after the last rendered seq', async () => {
  let tickets = 0;
  const { wire, screen, sockets } = harness({ attach: async () => ({ url: `ws://hub.test/t?session_id=${SID}&ticket=k${++tickets}`, ticket: 'k', expires_at: 0 }) });
  wire.start();
  await tick();
  sockets[0].open();
  for (let i = 0; i < 3; i++) sockets[0].recv(frame(i, `f${i}`));
  screen.flush();
  sockets[0].recv(frame(3, 'f3')); // received, not yet rendered
  sockets[0].drop();
  assert.equal(wire.state, 'reconnecting');
  await new Promise((r) => setTimeout(r, 900));
  assert.equal(tickets, 2);
  assert.equal(sockets[1].url, `ws://hub.test/t?session_id=${SID}&ticket=k2&last_seq=2`);
  sockets[1].open();
  sockets[1].recv(frame(3, 'f3'));
  sockets[1].recv(frame(4, 'f4'));
  screen.flush();
  assert.deepEqual(screen.log, ['f0', 'f1', 'f2', 'f3', 'f4'], 'nothing lost or doubled');
  assert.equal(wire.lastSeq, 4);
  wire.close();
});

test('a gap resets and draws the snapshot; frames go on from to_seq', async () => {
  const { wire, screen, sockets } = harness();
  wire.start();
  await tick();
  const s = sockets[0];
  s.open();
  s.recv(frame(0, 'old'));
  s.recv({ type: 'gap', schema_version: '1', session_id: SID, from_seq: 0, to_seq: 9 });
  s.recv({ type: 'session.snapshot', schema_version: '1', session_id: SID, content: 'fresh' });
  s.recv(frame(9, 'new'));
  assert.deepEqual(screen.log, ['old'], 'the reset waits for the write in flight');
  screen.flush();
  screen.flush();
  assert.deepEqual(screen.log, ['old', '<reset>', 'fresh', 'new']);
  assert.equal(wire.lastSeq, 9);
  wire.close();
});

test('read-only never sends input or resize; read-write does', async () => {
  for (const readOnly of [true, false]) {
    const { wire, sockets } = harness({ readOnly });
    wire.resize(80, 24);
    wire.start();
    await tick();
    sockets[0].open();
    wire.input('ls\r');
    wire.input(new Uint8Array([0xff]));
    await new Promise((r) => setTimeout(r, 200));
    const s = sockets[0];
    if (readOnly) {
      assert.deepEqual([...s.of('session.input'), ...s.of('session.resize')], []);
    } else {
      assert.deepEqual(s.of('session.input').map((m) => m.data), ['bHMN', '/w==']);
      assert.deepEqual(s.of('session.resize')[0], { type: 'session.resize', schema_version: '1', session_id: SID, cols: 80, rows: 24 });
    }
    wire.close();
  }
});

test('writer_busy is news only once this browser types, not for its resize', async () => {
  const { wire, sockets, events } = harness();
  wire.resize(100, 30);
  wire.start();
  await tick();
  sockets[0].open();
  sockets[0].recv({ type: 'gateway.status', schema_version: '1', gateway_id: 'g', status: 'connected' });
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(sockets[0].of('session.resize').length > 0);
  const busy = { type: 'error', schema_version: '1', code: 'writer_busy', message: 'another browser is typing' };
  sockets[0].recv(busy);
  assert.deepEqual(events.errors, []);
  wire.input('x');
  sockets[0].recv(busy);
  assert.deepEqual(events.errors, [['writer_busy', 'another browser is typing']]);
  wire.close();
});

test('pings measure the round trip; the session ending stops reconnecting', async () => {
  const latencies = [];
  const h = harness();
  h.wire.options.events.latency = (ms) => latencies.push(ms);
  h.wire.start();
  await tick();
  const s = h.sockets[0];
  s.open();
  const [ping] = s.of('ping');
  assert.match(ping.request_id, /^p-\d+$/);
  s.recv({ type: 'pong', schema_version: '1', request_id: ping.request_id });
  assert.equal(latencies.length, 1);
  s.recv({ type: 'session.ended', schema_version: '1', session_id: SID, exit_code: 0 });
  assert.equal(h.wire.state, 'closed');
  assert.deepEqual(h.events.ended, ['session ended (exit code 0)']);
});

test('a refused attach ends the wire; a failing one retries', async () => {
  const refused = harness({ attach: async () => { throw new AttachRefused('the session has ended'); } });
  refused.wire.start();
  await tick();
  assert.equal(refused.wire.state, 'closed');
  assert.deepEqual(refused.events.ended, ['the session has ended']);
  let calls = 0;
  const flaky = harness({ attach: async () => { calls++; throw new Error('503'); } });
  flaky.wire.start();
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(calls >= 2, `attach retried (${calls} calls)`);
  assert.equal(flaky.wire.state, 'reconnecting');
  flaky.wire.close();
});
