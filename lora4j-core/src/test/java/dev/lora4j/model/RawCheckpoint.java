// A checkpoint's tensors as raw bytes, edited and written back byte by byte (independently of SafetensorsWriter), for
// the tests that build damaged or re-sharded bitsandbytes checkpoints from a fixture.
package dev.lora4j.model;

import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.TensorInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

record RawCheckpoint(String dtype, long[] shape, byte[] bytes) {
    /** Every tensor of a safetensors file, by name. */
    static Map<String, RawCheckpoint> read(Path file) {
        Map<String, RawCheckpoint> tensors = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                TensorInfo info = f.entry(name);
                tensors.put(name, new RawCheckpoint(info.dtype().name(), info.shape(), f.bytes(name)));
            }
        }
        return tensors;
    }

    /** Writes {@code tensors} as a safetensors file, in name order, back to back. */
    static void write(Path file, Map<String, RawCheckpoint> tensors) throws IOException {
        StringBuilder header = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, RawCheckpoint> e : new TreeMap<>(tensors).entrySet()) {
            if (header.length() > 1) header.append(',');
            header.append('"').append(e.getKey()).append("\":{\"dtype\":\"").append(e.getValue().dtype()).append("\",\"shape\":")
                    .append(Arrays.toString(e.getValue().shape())).append(",\"data_offsets\":[").append(data.size()).append(',')
                    .append(data.size() + e.getValue().bytes().length).append("]}");
            data.writeBytes(e.getValue().bytes());
        }
        byte[] json = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        Files.write(file, ByteBuffer.allocate(8 + json.length + data.size()).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(json.length).put(json).put(data.toByteArray()).array());
    }
}
