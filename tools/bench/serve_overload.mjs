// Overload run against a lora4j serve started with a small --max-batch and --max-queue: N greedy requests at once;
// every answer must be a 200 with exactly the reference text or a 429 with an OpenAI error body (nothing lost, nothing
// corrupted), and some must be 429s. Usage: node serve_overload.mjs URL MODEL [requests]
const [url, model, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 64);
const body = JSON.stringify({ model, prompt: "Call me Ishmael.", max_tokens: 24, temperature: 0 });
const post = () => fetch(url + "/v1/completions", { method: "POST", headers: { "Content-Type": "application/json" }, body,
  signal: AbortSignal.timeout(60_000) }).then(async (r) => ({ status: r.status, json: JSON.parse(await r.text()) }));
const reference = (await post()).json.choices[0].text;
const replies = await Promise.all(Array.from({ length: count }, post));
let ok = 0, limited = 0, bad = 0;
for (const r of replies) {
  if (r.status === 200 && r.json.choices[0].text === reference && r.json.usage.completion_tokens === 24) ok++;
  else if (r.status === 429 && r.json.error?.code === "rate_limit_exceeded") limited++;
  else bad++;
}
console.log(`overload: ${count} requests at once: ${ok} complete and identical, ${limited} refused with 429, ${bad} lost or corrupted`);
if (bad > 0 || limited === 0 || ok === 0) process.exit(1);
