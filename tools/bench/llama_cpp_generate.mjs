// llama.cpp's side of `lora4j bench generate --model FILE.gguf`: the same file through npm node-llama-cpp 3.21.1
// (prebuilt CPU llama.cpp, offline), the same prompt length (random ids), new tokens, threads and greedy decoding, timed
// the same way, one JSON line with the same fields.
// Usage: NODE_PATH=~/.cache/lora4j/node-llama-cpp-3.21.1/node_modules \
//        node tools/bench/llama_cpp_generate.mjs --model F.gguf [--prompt-len 128] [--new-tokens 128] [--threads 2] [--runs 3]
// prefill_s: from the call to the first new token (the prompt's batch); decode_s: the other new_tokens − 1 tokens.
// weight_bytes_per_token: every tensor of two or more dimensions as stored, less token_embd unless the file has no
// output.weight (a tied head reads the whole table): what one decoding step reads. KV cache: llama.cpp's default (F16).
import { createRequire } from "node:module";
import path from "node:path";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => {
    if (a.startsWith("--")) pairs.push([a.slice(2), all[i + 1]]);
    return pairs;
}, []));
if (!args.model) {
    console.error("usage: node llama_cpp_generate.mjs --model F.gguf [--prompt-len N] [--new-tokens N] [--threads N] [--runs N]");
    process.exit(2);
}
const promptLen = Number(args["prompt-len"] ?? 128), newTokens = Number(args["new-tokens"] ?? 128);
const threads = Number(args.threads ?? 2), runs = Number(args.runs ?? 3);
if (!(promptLen >= 1 && newTokens >= 2 && threads >= 1 && runs >= 1)) {
    console.error(`need --prompt-len ≥ 1, --new-tokens ≥ 2, --threads ≥ 1, --runs ≥ 1; got ${promptLen}, ${newTokens}, ${threads}, ${runs}`);
    process.exit(2);
}

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));
const { getLlama, readGgufFileInfo } = await import(require.resolve("node-llama-cpp"));

// ggml type → [block size, bytes per block] (ggml.c's type_traits) for the types lora4j reads
const GGML = { 0: [1, 4], 1: [1, 2], 2: [32, 18], 6: [32, 22], 8: [32, 34], 12: [256, 144], 13: [256, 176], 14: [256, 210], 30: [1, 2] };
const info = await readGgufFileInfo(args.model, { logWarnings: false });
const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
const tied = !tensors.some(t => t.name === "output.weight");
let weightBytes = 0;
for (const t of tensors) {
    if (t.dimensions.length < 2 || (t.name === "token_embd.weight" && !tied)) continue;
    const traits = GGML[t.ggmlType];
    if (!traits) { weightBytes = null; break; }
    const count = t.dimensions.reduce((a, d) => a * Number(d), 1);
    weightBytes += count / traits[0] * traits[1];
}

const llama = await getLlama({ build: "never", gpu: false, logLevel: "error" });
const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
const vocab = model.tokens.vocabularySize ?? model.fileInsights.vocabularySize;
const context = await model.createContext({ contextSize: promptLen + newTokens + 16, batchSize: promptLen, threads, sequences: 1 });
const sequence = context.getSequence();
let seed = 1;                                                    // random prompt ids (content does not matter for speed)
const prompt = Array.from({ length: promptLen }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) % vocab);

async function generate() {
    await sequence.clearHistory();
    const tokens = [];
    const t0 = process.hrtime.bigint();
    let first = 0n;
    for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
        if (tokens.length === 0) first = process.hrtime.bigint();
        tokens.push(token);
        if (tokens.length === newTokens) break;
    }
    const t1 = process.hrtime.bigint();
    return { tokens, prefillS: Number(first - t0) / 1e9, decodeS: Number(t1 - first) / 1e9 };
}

const median = v => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;
const warm = await generate();                                    // warm-up; every timed run must give its tokens
const timings = [];
for (let r = 0; r < runs; r++) {
    const t = await generate();
    if (t.tokens.join() !== warm.tokens.join()) throw new Error(`run ${r} gave other tokens than the first run`);
    timings.push(t);
}
const prefill = median(timings.map(t => t.prefillS)), decodes = timings.map(t => t.decodeS), decode = median(decodes);
console.log(JSON.stringify({
    impl: "llama.cpp-node-llama-cpp-3.21.1", model: args.model, variant: "base", prompt_len: promptLen, new_tokens: newTokens, runs,
    prefill_s: round(prefill, 6), prefill_tokens_per_s: round(promptLen / prefill, 2),
    decode_s: round(decode, 6), decode_s_min: round(Math.min(...decodes), 6), decode_s_max: round(Math.max(...decodes), 6),
    decode_tokens_per_s: round((newTokens - 1) / decode, 2), decode_ms_per_token: round(1000 * decode / (newTokens - 1), 3),
    weight_bytes_per_token: weightBytes, decode_gb_per_s: weightBytes == null ? null : round(weightBytes * (newTokens - 1) / decode / 1e9, 2),
    threads,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
