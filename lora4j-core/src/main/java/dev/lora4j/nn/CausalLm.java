package dev.lora4j.nn;

import dev.lora4j.autograd.Tape;
import dev.lora4j.tensor.Tensor;
import java.util.OptionalInt;

/** A decoder-only language model loaded from a Hugging Face directory: what eval, train and generate need. */
public interface CausalLm extends Model {
    /** Logits (B·T, V) for ids (B·T). */
    Tensor forward(Tape tape, int[] ids, int B, int T);

    /**
     * Mean next-token cross-entropy of ids (B·T) against targets (B·T, −100 ignored): what training and
     * evaluation need. Models override it to fuse the head with the loss so the (B·T, V) logits never exist.
     */
    default Tensor loss(Tape tape, int[] ids, int B, int T, int[] targets) {
        return dev.lora4j.autograd.CrossEntropy.apply(tape, forward(tape, ids, B, T), targets);
    }

    /**
     * Inference (batch 1, no gradients, no dropout): logits (T_new, V) for {@code newIds} at positions
     * {@code cache.length()} onwards, attending to every cached position; appends their keys and values
     * to {@code cache}. Equals the rows of {@link #forward} over the whole sequence.
     */
    default Tensor forwardCached(int[] newIds, KvCache cache) {
        return forwardCached(newIds, cache, 0);
    }

    /**
     * {@link #forwardCached(int[], KvCache)} computing the logits of only the last {@code logitsToKeep}
     * new positions ((logitsToKeep, V); 0 = all), as HF's {@code logits_to_keep}: a prefill needs one row.
     */
    Tensor forwardCached(int[] newIds, KvCache cache, int logitsToKeep);

    /**
     * Inference over several independent sequences at once (continuous batching): each sequence's new tokens at its
     * cache's positions, with its own adapter or none; logits (S, V), one row per sequence for its last new token, and
     * each cache advanced. A sequence's logits have the bits {@link #forwardCached} gives it alone with its adapter
     * injected (unmerged); see {@link SequenceBatch}. Several sequences need the model without an injected adapter.
     */
    Tensor forwardBatch(SequenceBatch batch);

    /** An empty KV cache for this model, for up to {@code capacity} positions (at most {@link #maxPositions()}). */
    KvCache newKvCache(int capacity);

    int vocabSize();

    /** config.json's {@code eos_token_id}, if any (generation also reads generation_config.json: GenerationConfig.eosTokenIds). */
    OptionalInt eosTokenId();

    /** Longest sequence the position embeddings allow. */
    int maxPositions();
}
