package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora4jException;
import dev.lora4j.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged bitsandbytes 4-bit checkpoints (bnb/llama-nf4 with one thing changed): each fails while loading with one
 * {@link Lora4jException} that names the file and the key, before the model is built.
 */
class Bnb4bitHostileTest {
    private static final String Q = "model.layers.0.self_attn.q_proj.weight";
    private static final String STATE = Q + ".quant_state.bitsandbytes__nf4";

    @TempDir
    Path tmp;

    /** bnb/llama-nf4 with its tensors edited by {@code edit} and its config.json by {@code config}. */
    private Path variant(Consumer<Map<String, RawCheckpoint>> edit, UnaryOperator<String> config) throws IOException {
        Path src = TestData.dir("bnb/llama-nf4");
        Map<String, RawCheckpoint> tensors = RawCheckpoint.read(src.resolve("model.safetensors"));
        edit.accept(tensors);
        Path dir = Files.createDirectories(tmp.resolve("model"));
        RawCheckpoint.write(dir.resolve("model.safetensors"), tensors);
        Files.writeString(dir.resolve("config.json"), config.apply(Files.readString(src.resolve("config.json"))));
        return dir;
    }

    private Path variant(Consumer<Map<String, RawCheckpoint>> edit) throws IOException {
        return variant(edit, c -> c);
    }

    private static void rejects(Path dir, String... parts) {
        Lora4jException e = assertThrows(Lora4jException.class, () -> ModelLoader.load(dir));
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "'" + p + "' not in: " + e.getMessage());
    }

    private static RawCheckpoint state(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return new RawCheckpoint("U8", new long[] {b.length}, b);
    }

    private static String stateJson(Map<String, RawCheckpoint> t) {
        return new String(t.get(STATE).bytes(), StandardCharsets.UTF_8);
    }

    @Test
    void theUnchangedCopyLoads() throws IOException {
        ModelLoader.load(variant(t -> {}));
    }

    @Test
    void aTruncatedWeight() throws IOException {
        Path dir = variant(t -> t.put(Q, new RawCheckpoint("U8", new long[] {511, 1}, Arrays.copyOf(t.get(Q).bytes(), 511))));
        rejects(dir, "model.safetensors", "'" + Q + "'", "expected 512 U8 values");
    }

    @Test
    void aBlockSizeTheTensorsDoNotHave() throws IOException {
        rejects(variant(t -> t.put(STATE, state(stateJson(t).replace("\"blocksize\": 64", "\"blocksize\": 128")))),
                "model.safetensors", "'" + Q + ".absmax'", "expected 8 U8 values");
        rejects(variant(t -> t.put(STATE, state(stateJson(t).replace("\"blocksize\": 64", "\"blocksize\": 100")))),
                "model.safetensors", "'" + STATE + "'", "blocksize 100");
    }

    @Test
    void aMissingNestedAbsmax() throws IOException {
        rejects(variant(t -> t.remove(Q + ".nested_absmax")), "model.safetensors", "'" + STATE + "'", "no tensor '" + Q + ".nested_absmax'");
    }

    @Test
    void badJsonInTheQuantState() throws IOException {
        rejects(variant(t -> t.put(STATE, state("{\"quant_type\": \"nf4\", \"blocksize\": "))), "model.safetensors", "'" + STATE + "'", "not valid JSON");
        rejects(variant(t -> t.put(STATE, state(stateJson(t).replace("\"shape\": [32, 32]", "\"shape\": \"32x32\"")))),
                "'" + STATE + "'", "shape is a string");
        rejects(variant(t -> t.put(STATE, state(stateJson(t).replace("\"dtype\": \"bfloat16\"", "\"dtype\": \"int8\"")))),
                "'" + STATE + "'", "dtype 'int8'");
    }

    @Test
    void aMissingQuantState() throws IOException {
        rejects(variant(t -> t.remove(STATE)), "model.safetensors", "'" + Q + "'", "without its quant state '" + STATE + "'");
        rejects(variant(t -> {
            t.keySet().removeIf(k -> k.startsWith(Q + "."));
        }), "model.safetensors", "'" + Q + "'", "uint8", "without its quant state");
    }

    @Test
    void anUnknownQuantTypeOrCodeBook() throws IOException {
        rejects(variant(t -> t.put(Q + ".quant_state.bitsandbytes__int4", t.remove(STATE))), "'" + Q + ".quant_state.bitsandbytes__int4'", "unknown quant_type 'int4'");
        rejects(variant(t -> t.put(Q + ".quant_state.bitsandbytes__nf5", state(stateJson(t)))), "'" + Q + ".quant_state.bitsandbytes__nf5'", "unknown quant_type 'nf5'");
        rejects(variant(t -> t.put(STATE, state(stateJson(t).replace("\"nf4\"", "\"fp4\"")))), "'" + STATE + "'", "quant_type 'fp4' but the key says 'nf4'");
        rejects(variant(t -> t.get(Q + ".quant_map").bytes()[5] ^= 1), "'" + Q + ".quant_map'", "code book");
        rejects(variant(t -> {}, c -> c.replace("\"bnb_4bit_quant_type\": \"nf4\"", "\"bnb_4bit_quant_type\": \"fp4\"")),
                "'" + "model.layers.0", "bnb_4bit_quant_type fp4");
    }

    @Test
    void aShapeTheConfigDoesNotHave() throws IOException {
        rejects(variant(t -> t.put(STATE, state(stateJson(t).replace("\"shape\": [32, 32]", "\"shape\": [16, 64]")))),
                "wrong shape", Q + ": checkpoint [16, 64], model expects [32, 32]");
    }

    @Test
    void doubleQuantizationTheConfigDoesNotPromise() throws IOException {
        rejects(variant(t -> {}, c -> c.replace("\"bnb_4bit_use_double_quant\": true", "\"bnb_4bit_use_double_quant\": false")),
                "double quantized", "bnb_4bit_use_double_quant false");
    }

    @Test
    void llmInt8AndOtherMethodsAreRefused() throws IOException {
        rejects(variant(t -> {}, c -> c.replace("\"load_in_8bit\": false", "\"load_in_8bit\": true")), "config.json", "load_in_8bit", "not supported");
        rejects(variant(t -> {}, c -> c.replace("\"quant_method\": \"bitsandbytes\"", "\"quant_method\": \"gptq\"")), "config.json", "quant_method 'gptq' is not supported");
    }
}
