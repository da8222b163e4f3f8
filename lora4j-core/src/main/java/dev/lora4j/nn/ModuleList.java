package dev.lora4j.nn;

import java.util.List;

/** torch.nn.ModuleList: children named "0", "1", ... (the {@code h} of GPT-2, the {@code layers} of Llama). */
public final class ModuleList<M extends Module> extends Module {
    private final int size;

    public ModuleList(List<M> items) {
        for (int i = 0; i < items.size(); i++) registerChild(Integer.toString(i), items.get(i));
        this.size = items.size();
    }

    @SuppressWarnings("unchecked")
    public M get(int i) {
        return (M) child(Integer.toString(i));
    }

    public int size() {
        return size;
    }
}
