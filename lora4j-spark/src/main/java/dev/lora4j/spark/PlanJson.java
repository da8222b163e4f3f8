package dev.lora4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.data.LabelMap;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraInjector;
import dev.lora4j.model.TaskType;
import dev.lora4j.train.FineTune;
import dev.lora4j.train.Method;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link FineTune.Plan} as JSON, so that rank 0 can tell the driver what the run trains and the driver show it as a
 * single-machine run does. The LoRA configuration travels as its adapter_config.json.
 */
final class PlanJson {
    private PlanJson() {}

    static ObjectNode write(FineTune.Plan p) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("task", p.task().name());
        o.put("method", switch (p.method()) {
            case Method.Lora l -> "lora";
            case Method.Full f -> "full";
            case Method.HeadOnly h -> "head-only";
        });
        o.put("model_type", p.modelType());
        if (p.lora() != null) o.put("lora", p.lora().toJson());
        p.report().targeted().forEach(o.putArray("targeted")::add);
        o.put("trainable", p.report().trainable());
        o.put("total", p.report().total());
        p.newHeadParameters().forEach(o.putArray("new_head_parameters")::add);
        if (p.labels() != null) p.labels().id2label().forEach(o.putArray("labels")::add);
        o.put("seq_len", p.seqLen());
        return o;
    }

    static FineTune.Plan read(JsonNode o) {
        LoraConfig lora = o.hasNonNull("lora") ? LoraConfig.parse(o.get("lora").asText(), "the plan rank 0 sent") : null;
        Method method = switch (o.path("method").asText()) {
            case "full" -> Method.full();
            case "head-only" -> Method.headOnly();
            default -> Method.lora(lora);
        };
        LabelMap labels = o.has("labels") ? new LabelMap(strings(o.get("labels"))) : null;
        return new FineTune.Plan(TaskType.valueOf(o.path("task").asText()), method, o.path("model_type").asText(), lora,
                new LoraInjector.Report(strings(o.path("targeted")), o.path("trainable").asLong(), o.path("total").asLong()),
                strings(o.path("new_head_parameters")), labels, o.path("seq_len").asInt());
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
