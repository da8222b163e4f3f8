package dev.lora4j.io.gguf;

/** The metadata value types of GGUF (gguf.h enum gguf_type), with the bytes of one scalar (0 for string and array). */
public enum GgufValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(0), ARRAY(0), UINT64(8), INT64(8), FLOAT64(8);

    private final int size;

    GgufValueType(int size) {
        this.size = size;
    }

    /** Bytes of one value; 0 for STRING and ARRAY, whose size is in the file. */
    public int size() {
        return size;
    }

    /** The type of id {@code id} (its ordinal), or null. */
    public static GgufValueType of(long id) {
        return id >= 0 && id < values().length ? values()[(int) id] : null;
    }

    /** Whether it holds an integer. */
    public boolean integral() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }
}
