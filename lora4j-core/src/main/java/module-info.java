/**
 * lora4j-core: LoRA fine-tuning of Hugging Face transformers on the JVM. Exports the packages a program uses: the
 * pipeline ({@code train}), the facades ({@code inference}), models, LoRA, data, tokenizer, generation, evaluation,
 * files (safetensors, GGUF, ONNX, config.json), and the engine's public types (tensors, the tape, modules). The kernels are
 * internal; the Vector API kernels are used when the incubator module is present (they are loaded by reflection).
 * jinjava has no module name of its own, so it is required by its file name ("jinjava").
 */
module dev.lora4j.core {
    requires transitive com.fasterxml.jackson.databind;
    requires ai.djl.tokenizers;
    requires ai.djl.api;
    requires jinjava;
    requires com.google.protobuf;
    requires org.slf4j;
    requires static jdk.incubator.vector;

    exports dev.lora4j;
    exports dev.lora4j.analysis;
    exports dev.lora4j.autograd;
    exports dev.lora4j.data;
    exports dev.lora4j.eval;
    exports dev.lora4j.generate;
    exports dev.lora4j.inference;
    exports dev.lora4j.io;
    exports dev.lora4j.io.gguf;
    exports dev.lora4j.linalg;
    exports dev.lora4j.lora;
    exports dev.lora4j.model;
    exports dev.lora4j.model.bert;
    exports dev.lora4j.model.gpt2;
    exports dev.lora4j.model.llama;
    exports dev.lora4j.nn;
    exports dev.lora4j.onnx;
    exports dev.lora4j.tensor;
    exports dev.lora4j.tokenizer;
    exports dev.lora4j.train;
}
