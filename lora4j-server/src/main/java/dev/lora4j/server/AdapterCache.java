// The adapters of a decoder held in memory: an LRU of at most --max-cpu-loras AdapterWeights (S-LoRA's host memory
// pool), read on the requesting thread, never on the engine's, so loading one never holds up running requests.
package dev.lora4j.server;

import dev.lora4j.Lora4jException;
import dev.lora4j.lora.AdapterWeights;
import dev.lora4j.nn.CausalLm;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Thread-safe. An evicted adapter still in use by a running request stays alive through that request's reference; the
 * next request for it reads it again. Ranks above --max-lora-rank are refused.
 */
final class AdapterCache {
    private final CausalLm base;
    private final int maxLoraRank;
    private final Map<AdapterRegistry.Registration, AdapterWeights> loaded;

    AdapterCache(CausalLm base, int maxCpuLoras, int maxLoraRank) {
        this.base = base;
        this.maxLoraRank = maxLoraRank;
        this.loaded = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<AdapterRegistry.Registration, AdapterWeights> eldest) {
                return size() > maxCpuLoras;
            }
        };
    }

    /** The weights of {@code r}, read from its directory if they are not in memory. */
    AdapterWeights get(AdapterRegistry.Registration r) {
        synchronized (loaded) {
            AdapterWeights w = loaded.get(r);
            if (w != null) return w;
        }
        AdapterWeights w = read(r);                    // outside the lock: other adapters stay available meanwhile
        synchronized (loaded) {
            AdapterWeights raced = loaded.putIfAbsent(r, w);
            return raced != null ? raced : w;
        }
    }

    private AdapterWeights read(AdapterRegistry.Registration r) {
        AdapterWeights w = AdapterWeights.read(r.path(), base);
        if (w.maxRank() > maxLoraRank) {
            throw new Lora4jException("adapter '" + r.name() + "' has rank " + w.maxRank() + ", above --max-lora-rank " + maxLoraRank);
        }
        return w;
    }

    void evict(AdapterRegistry.Registration r) {
        synchronized (loaded) {
            loaded.remove(r);
        }
    }

    int size() {
        synchronized (loaded) {
            return loaded.size();
        }
    }
}
