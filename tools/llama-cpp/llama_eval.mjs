// The real llama.cpp (npm node-llama-cpp 3.21.1, prebuilt CPU binaries, no network) as a reference for lora4j's tests.
// Usage: node llama_eval.mjs REQUEST.json  (NODE_PATH = the folder where node-llama-cpp is installed)
// REQUEST: {"model": "m.gguf", "lora": "a.gguf" | null, "loraScale": 1, "tokenize": ["text", ...], "evaluate": [[ids], ...]}
// Prints one JSON object: {"tokens": [[ids of each text]], "probabilities": [[[p over the vocabulary] per position] per sequence],
// "nVocab": n}. Evaluation as the issue prescribes: F32 KV cache (and no flash attention, which computes in F16), probabilities of every position (temperature 0, no
// top-k, top-p or min-p truncation, which would renormalise them:
// an exact float32 softmax of llama.cpp's logits), LoRA through createContext({lora}).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));
const req = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({ build: "never", gpu: false, logLevel: "error" });
const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
const out = { tokens: [], probabilities: [], nVocab: model.tokens.vocabularySize ?? null };
for (const text of req.tokenize ?? []) out.tokens.push(Array.from(model.tokenize(text, false)));
for (const ids of req.evaluate ?? []) {
    const context = await model.createContext({
        contextSize: Math.max(32, ids.length + 8), batchSize: Math.max(32, ids.length + 8), threads: 1, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
        lora: req.lora ? { adapters: [{ filePath: req.lora, scale: req.loraScale ?? 1 }] } : undefined,
    });
    const sequence = context.getSequence();
    const results = await sequence.controlledEvaluate(ids.map(t => [t, { generateNext: { probabilities: true, options: { temperature: 0, topK: 0, topP: 1, minP: 0 } } }]));
    out.probabilities.push(results.map(r => {
        const p = new Array(model.tokens.vocabularySize ?? 0).fill(0);
        for (const [token, prob] of r.next.probabilities) p[token] = prob;
        return p;
    }));
    await context.dispose();
}
console.log(JSON.stringify(out));
await model.dispose();
await llama.dispose();
