package dev.lora4j.train;

import dev.lora4j.autograd.Tape;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Window;
import dev.lora4j.eval.Evaluator;
import dev.lora4j.nn.CausalLm;
import dev.lora4j.nn.Module;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Next-token prediction over windows: mean cross-entropy of the scored targets; held-out loss and perplexity. */
public final class CausalLmTask implements TrainingTask {
    private final CausalLm model;
    private final List<Window> train;
    private final List<Window> eval;
    private final int evalBatch;

    public CausalLmTask(CausalLm model, List<Window> train, List<Window> eval, int evalBatch) {
        this.model = model;
        this.train = train;
        this.eval = eval;
        this.evalBatch = evalBatch;
    }

    @Override
    public Module module() {
        return model.module();
    }

    @Override
    public int size() {
        return train.size();
    }

    @Override
    public int length(int i) {
        return train.get(i).length();
    }

    @Override
    public Loss loss(Tape tape, List<Integer> examples) {
        Batch batch = Batch.of(examples.stream().map(train::get).toList());
        return new Loss(model.loss(tape, batch.ids(), batch.B(), batch.T(), batch.targets()), batch.scored());
    }

    @Override
    public Map<String, Double> evaluate() {
        Map<String, Double> m = new LinkedHashMap<>();
        if (eval.isEmpty()) return m;
        Evaluator.Result r = Evaluator.evaluate(model, eval, evalBatch, n -> {});
        m.put("eval_loss", r.loss());
        m.put("eval_perplexity", r.perplexity());
        m.put("eval_tokens", (double) r.tokens());
        return m;
    }
}
