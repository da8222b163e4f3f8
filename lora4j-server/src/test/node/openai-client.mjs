// The official openai npm package against lora4j serve: prints one JSON object with what each call returned.
// Usage: node openai-client.mjs DECODER_URL ADAPTER ENCODER_URL ENCODER_MODEL
import OpenAI from "openai";

const [decoderUrl, adapter, encoderUrl, encoderModel] = process.argv.slice(2);
const client = new OpenAI({ baseURL: decoderUrl, apiKey: "k", maxRetries: 0 });
const out = {};

out.models = (await client.models.list()).data.map((m) => ({ id: m.id, parent: m.parent ?? null }));

const completion = await client.completions.create({ model: adapter, prompt: "Call me Ishmael.", max_tokens: 11, temperature: 0 });
out.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage };

const stream = await client.chat.completions.create({
  model: adapter, messages: [{ role: "user", content: "Hello there" }], max_tokens: 7, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? "";
  if (chunk.usage) usage = chunk.usage;
}
out.chatStream = { text, usage };

try {
  await client.completions.create({ model: "no-such-model", prompt: "x" });
  out.notFound = null;
} catch (e) {
  out.notFound = { status: e.status, code: e.code, type: e.type };
}

const encoder = new OpenAI({ baseURL: encoderUrl, apiKey: "k", maxRetries: 0 });
const embedding = await encoder.embeddings.create({ model: encoderModel, input: ["a nice day, superb time"] });
out.embedding = Array.from(embedding.data[0].embedding);

console.log(JSON.stringify(out));
