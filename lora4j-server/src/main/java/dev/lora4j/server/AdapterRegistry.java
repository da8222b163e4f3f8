// The adapters a server answers for, by name: those given at start and those loaded at run time, whose paths must
// resolve inside --adapters-dir (no "..", no link that leads out). Replacing a name is one atomic swap: a request
// takes the registration it finds and keeps it to the end.
package dev.lora4j.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/** Thread-safe. */
final class AdapterRegistry {
    /** One name bound to one directory; a new load under the same name is a new registration. */
    record Registration(String name, Path path, long version) {}

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}");
    private final Map<String, Registration> byName = new LinkedHashMap<>();
    private final AtomicLong versions = new AtomicLong();
    private final Path adaptersDir;     // real path, or null: no runtime loading from anywhere

    AdapterRegistry(Path adaptersDir) {
        try {
            this.adaptersDir = adaptersDir == null ? null : adaptersDir.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("--adapters-dir " + adaptersDir + ": " + e.getMessage(), e);
        }
        if (this.adaptersDir != null && !Files.isDirectory(this.adaptersDir)) {
            throw new IllegalArgumentException("--adapters-dir " + adaptersDir + " is not a directory");
        }
    }

    /** Throws {@link IllegalArgumentException} unless {@code name} is 1–128 letters, digits and {@code ._:/@+-}, starting with a letter or digit. */
    static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("adapter name '" + name + "' must be 1 to 128 letters, digits or ._:/@+- and start with a letter or digit");
        }
    }

    /** A registration for {@code path} under {@code name} (not yet visible: {@link #put} publishes it). */
    Registration create(String name, Path path) {
        return new Registration(name, path, versions.incrementAndGet());
    }

    synchronized void put(Registration r) {
        byName.put(r.name(), r);
    }

    synchronized Registration get(String name) {
        return byName.get(name);
    }

    /** Removes {@code name}; returns what it was bound to, or null. */
    synchronized Registration remove(String name) {
        return byName.remove(name);
    }

    synchronized List<Registration> all() {
        return new ArrayList<>(byName.values());
    }

    /**
     * The directory a runtime load names, which must be inside {@code --adapters-dir} after every link is followed:
     * relative paths are resolved against it, ".." is refused outright, and so is a path (or a file in it) whose real
     * location lies outside.
     */
    Path resolveRuntimePath(String loraPath) {
        if (adaptersDir == null) throw new ApiError(ErrorKind.BAD_REQUEST, "runtime adapter loading needs --adapters-dir", "lora_path");
        if (loraPath.isEmpty() || loraPath.indexOf('\0') >= 0) throw Fields.bad("lora_path", "'lora_path' is empty or holds a NUL character");
        Path p;
        try {
            p = Path.of(loraPath);
        } catch (InvalidPathException e) {
            throw Fields.bad("lora_path", "'lora_path' is not a valid path: " + e.getReason());
        }
        for (Path part : p) {
            if (part.toString().equals("..")) throw Fields.bad("lora_path", "'lora_path' must not contain '..'");
        }
        Path real;
        try {
            real = adaptersDir.resolve(p).toRealPath();
        } catch (IOException e) {
            throw new ApiError(ErrorKind.NOT_FOUND, "'lora_path' " + loraPath + " does not exist in the adapters directory", "lora_path");
        }
        inside(real, loraPath);
        for (String file : new String[] {"adapter_config.json", "adapter_model.safetensors"}) {
            Path f = real.resolve(file);
            if (Files.exists(f)) {
                try {
                    inside(f.toRealPath(), loraPath + "/" + file);
                } catch (IOException e) {
                    throw Fields.bad("lora_path", "'" + loraPath + "/" + file + "' cannot be read");
                }
            }
        }
        return real;
    }

    private void inside(Path real, String given) {
        if (!real.startsWith(adaptersDir) || real.equals(adaptersDir)) {
            throw Fields.bad("lora_path", "'lora_path' " + given + " resolves outside the adapters directory (--adapters-dir)");
        }
    }
}
