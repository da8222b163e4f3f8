// Tokenizer cross-check helper for gpt2_golden.py (needs node >= 16).
//
//   node encode_check.js ENCODER_DIR TOKENIZER_JSON TOKENIZERS_DIR TEXT...
//
// ENCODER_DIR     unpacked npm gpt-3-encoder package (its own JS BPE encoder)
// TOKENIZER_JSON  the tokenizer.json to check with the npm `tokenizers` package
// TOKENIZERS_DIR  a directory where `npm install tokenizers` was run ("" = skip)
//
// Prints one JSON object: per text, the ids from gpt-3-encoder and (if the
// `tokenizers` binding could be loaded) the ids and decoded text from it.
const path = require('path');

async function main() {
  const [encoderDir, tokenizerJson, tokenizersDir, ...texts] = process.argv.slice(2);
  const out = { gpt3_encoder: [], gpt3_encoder_decoded: [] };

  const { encode, decode } = require(path.resolve(encoderDir, 'index.js'));
  for (const t of texts) {
    const ids = encode(t);
    out.gpt3_encoder.push(ids);
    out.gpt3_encoder_decoded.push(decode(ids));
  }

  if (!tokenizersDir) {
    out.tokenizers_error = 'no tokenizers directory given';
  } else {
    try {
      const modPath = require.resolve('tokenizers', { paths: [path.resolve(tokenizersDir)] });
      const pkg = require(path.join(path.dirname(modPath), 'package.json'));
      out.tokenizers_version = pkg.version;
      const { Tokenizer } = require(modPath);
      const tok = Tokenizer.fromFile(path.resolve(tokenizerJson));
      // 0.13.x has a callback API, 0.14+ returns promises.
      const call = (fn, ...args) => new Promise((resolve, reject) => {
        const r = fn.call(tok, ...args, (err, v) => (err ? reject(err) : resolve(v)));
        if (r && typeof r.then === 'function') r.then(resolve, reject);
      });
      out.tokenizers = [];
      out.tokenizers_decoded = [];
      for (const t of texts) {
        const enc = await call(tok.encode, t, null, { addSpecialTokens: false });
        const ids = Array.from(enc.getIds());
        out.tokenizers.push(ids);
        out.tokenizers_decoded.push(await call(tok.decode, ids, false));
      }
    } catch (e) {
      out.tokenizers = null;
      out.tokenizers_error = String(e && e.stack ? e.stack.split('\n')[0] : e);
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
