// Load test of lora4j serve over loopback (bounded: a fixed number of requests per client, a time limit per run):
// throughput, p50/p99 time to first token and per-token latency at several client counts, for the base alone,
// one adapter, and 8 distinct adapters in the mix; then an overload run that must show 429s and no lost or
// corrupted responses. Usage: node serve_load.mjs URL BASE_ID ADAPTER_NAMES(comma) [requests-per-client] [max-tokens] [rounds]
const [url, base, adapterList, perClientArg, maxTokensArg, roundsArg] = process.argv.slice(2);
const adapters = adapterList ? adapterList.split(",") : [];
const perClient = Number(perClientArg ?? 4), maxTokens = Number(maxTokensArg ?? 32), rounds = Number(roundsArg ?? 3);
const RUN_LIMIT_MS = 120_000;
const prompts = ["Mr. Speaker, the state of the union", "Call me Ishmael.", "The whale", "It was the best of times"];

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** One streamed completion: time to the first token, the gaps between tokens, and the token count from usage. */
async function streamed(model, prompt, deadline) {
  const start = performance.now();
  const res = await fetch(url + "/v1/completions", {
    method: "POST", headers: { "Content-Type": "application/json" }, signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (res.status !== 200) return { status: res.status };
  let first = null, last = null, tokens = 0, buffer = "", done = false;
  const gaps = [];
  const decoder = new TextDecoder();
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let i;
    while ((i = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (event === "data: [DONE]") { done = true; continue; }
      const chunk = JSON.parse(event.slice(6));
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
      if (chunk.choices.length > 0 && chunk.choices[0].text) {
        const now = performance.now();
        if (first === null) first = now - start; else gaps.push(now - last);
        last = now;
      }
    }
  }
  return { status: 200, done, ttft: first, gaps, tokens };
}

/** One run: `clients` concurrent clients, each sending perClient streamed requests to `models` in turn. */
async function scenario(clients, models, requests = perClient) {
  const deadline = Date.now() + RUN_LIMIT_MS;
  const start = performance.now();
  const results = [];
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let r = 0; r < requests && Date.now() < deadline; r++) {
      results.push(await streamed(models[(c + r) % models.length], prompts[(c + r) % prompts.length], deadline));
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  const ok = results.filter((r) => r.status === 200 && r.done);
  return { ok: ok.length, sent: results.length, tokensPerS: ok.reduce((n, r) => n + r.tokens, 0) / seconds,
    ttft: ok.map((r) => r.ttft).filter((t) => t !== null), gaps: ok.flatMap((r) => r.gaps) };
}

const median = (xs) => percentile(xs, 50);
const mixes = [["base", [base]]];
if (adapters.length >= 1) mixes.push(["1 adapter", [adapters[0]]]);
if (adapters.length >= 8) mixes.push(["8 adapters", adapters.slice(0, 8)]);
for (const [, models] of mixes) await scenario(4, models, 2);          // warm-up (JIT, adapters loaded): not reported
// Rounds of back-to-back runs (base, 1 adapter, 8 adapters at each client count), so that the machine's drift hits
// every mix alike; tokens/s is the median over the rounds with its range, latencies are pooled over the rounds.
const cells = new Map();
for (let round = 0; round < rounds; round++) {
  for (const clients of [1, 4, 16]) {
    for (const [name, models] of mixes) {
      const key = `${name}|${clients}`;
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push(await scenario(clients, models));
    }
  }
}
console.log(`| mix | clients | ok | tokens/s (median of ${rounds} [min–max]) | TTFT p50 ms | TTFT p99 ms | per-token p50 ms | per-token p99 ms |`);
console.log("|---|---|---|---|---|---|---|---|");
for (const [name] of mixes) {
  for (const clients of [1, 4, 16]) {
    const runs = cells.get(`${name}|${clients}`);
    const tps = runs.map((r) => r.tokensPerS), ttft = runs.flatMap((r) => r.ttft), gaps = runs.flatMap((r) => r.gaps);
    const ok = runs.reduce((n, r) => n + r.ok, 0), sent = runs.reduce((n, r) => n + r.sent, 0);
    console.log(`| ${name} | ${clients} | ${ok}/${sent} | ${median(tps).toFixed(1)} [${Math.min(...tps).toFixed(1)}–${Math.max(...tps).toFixed(1)}] | `
      + `${median(ttft).toFixed(1)} | ${percentile(ttft, 99).toFixed(1)} | ${median(gaps).toFixed(2)} | ${percentile(gaps, 99).toFixed(2)} |`);
  }
}
if (mixes.length === 3) {
  const base16 = median(cells.get("base|16").map((r) => r.tokensPerS)), mixed16 = median(cells.get("8 adapters|16").map((r) => r.tokensPerS));
  console.log(JSON.stringify({ clients: 16, base_tokens_per_s: +base16.toFixed(1), eight_adapters_tokens_per_s: +mixed16.toFixed(1),
    eight_adapters_cost_pct: +(100 * (1 - mixed16 / base16)).toFixed(1) }));
}
