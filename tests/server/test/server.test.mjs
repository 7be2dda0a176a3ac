// `lookahead serve` driven by the official openai client. Needs a running
// server: LOOKAHEAD_BASE_URL (e.g. http://127.0.0.1:8080/v1) and
// LOOKAHEAD_API_KEY; tests/server/run.sh starts one and sets both.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.LOOKAHEAD_BASE_URL;
const apiKey = process.env.LOOKAHEAD_API_KEY ?? 'none';
if (!baseURL) throw new Error('set LOOKAHEAD_BASE_URL (tests/server/run.sh does)');
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const model = 'stories260K';

before(async () => {
  // The listener is up before the model is loaded: wait for /health 200.
  const health = new URL('../health', baseURL + '/').href;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(health)).status === 200) return;
    } catch {}
    if (Date.now() > deadline) throw new Error('server not healthy: ' + health);
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('models.list names the served model', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), [model]);
});

test('completions: greedy, deterministic, usage and lookahead stats', async () => {
  const req = { model, prompt: 'Once upon a time', max_tokens: 40, temperature: 0 };
  const a = await client.completions.create(req);
  const b = await client.completions.create(req);
  assert.equal(a.object, 'text_completion');
  assert.equal(a.choices.length, 1);
  assert.ok(a.choices[0].text.length > 0);
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.equal(a.choices[0].finish_reason, 'length');
  assert.equal(a.usage.completion_tokens, 40);
  assert.equal(a.usage.total_tokens, a.usage.prompt_tokens + 40);
  assert.ok(a.lookahead.steps > 0 && a.lookahead.compression >= 1);
});

test('completions: stop string', async () => {
  const full = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 60, temperature: 0 });
  const text = full.choices[0].text;
  const stop = text.slice(15, 19);
  const cut = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 60, temperature: 0, stop: [stop] });
  assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
});

test('chat completions', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'A story about a cat, please.' }],
    max_tokens: 32,
    temperature: 0,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(r.usage.prompt_tokens > 0);
});

test('streaming completions equal the non-streamed text', async () => {
  const req = { model, prompt: 'The little dog', max_tokens: 48, temperature: 0 };
  const plain = await client.completions.create(req);
  const stream = await client.completions.create({ ...req, stream: true });
  let text = '';
  let chunks = 0;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.ok(chunks > 2);
  assert.equal(text, plain.choices[0].text);
  assert.equal(finish, plain.choices[0].finish_reason);
});

test('streaming chat equals the non-streamed message, with usage', async () => {
  const req = { model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 40, temperature: 0 };
  const plain = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let role = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const d = chunk.choices[0]?.delta;
    if (d?.role) role = d.role;
    if (d?.content) text += d.content;
  }
  assert.equal(role, 'assistant');
  assert.equal(text, plain.choices[0].message.content);
  assert.deepEqual(usage, plain.usage);
});

test('a stream abandoned midway does not disturb the server', async () => {
  const stream = await client.completions.create({ model, prompt: 'Once', max_tokens: 1500, temperature: 0, stream: true });
  let n = 0;
  for await (const _ of stream) if (++n === 3) break; // closes the connection
  const r = await client.completions.create({ model, prompt: 'Once', max_tokens: 4, temperature: 0 });
  assert.equal(r.choices[0].finish_reason, 'length');
});

test('errors arrive as OpenAI errors', async () => {
  await assert.rejects(client.completions.create({ model, prompt: 'x', n: 2 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.param, 'n');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model, messages: 'hello' }), (e) => e.status === 400 && e.param === 'messages');
  const bad = new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await assert.rejects(bad.completions.create({ model, prompt: 'x' }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError);
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
  await assert.rejects(client.get('/nope'), (e) => e instanceof OpenAI.NotFoundError);
});
